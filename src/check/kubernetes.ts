/**
 * Kubernetes manifests as the CREATE AdmissionReview inputs the gateway builds for them
 * (src/upstreams/kubernetes/adapter.ts admissionReview), so that the rules of policies/kubernetes fire on a file
 * as they fire on `kubectl apply` of it through the gateway. Files are read as kubectl reads them: YAML streams
 * split on `---` lines (k8s.io/apimachinery/pkg/util/yaml YAMLReader), each document decoded as the apiserver
 * decodes YAML (YAML 1.1, src/upstreams/kubernetes/yaml.ts), `.json` files as one JSON object, and `List` kinds
 * (any kind ending in "List" with `items`) expanded into their items.
 *
 * The object judged is the document as written, with the namespace filled in as the apiserver fills it: what the
 * gateway judges with `dryRunWrites: false` or `resolve: local`. The apiserver's defaults are not there (no
 * apiserver is asked), and the caller is unidentified (`userInfo` of `identity: none`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { decodeJson } from '../upstreams/kubernetes/body.js';
import { UNIDENTIFIED } from '../upstreams/kubernetes/identity.js';
import { admissionReview, inRequestNamespace } from '../upstreams/kubernetes/adapter.js';
import { writeOptions } from '../upstreams/kubernetes/options.js';
import { kubeRequestInfo } from '../upstreams/kubernetes/request-info.js';
import { decodeKubeYaml } from '../upstreams/kubernetes/yaml.js';
import type { CheckSubject } from './evaluate.js';

/** `input.upstream` of a checked manifest: no gateway upstream is involved. */
export const CHECK_UPSTREAM = 'check';

/** The extensions kubectl reads from a folder (kubectl's FileExtensions). */
const EXTENSIONS = ['.json', '.yaml', '.yml'];

/** Built-in kinds that are not namespaced (kube-apiserver v1.33 discovery); any other kind is read as namespaced. */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ComponentStatus', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass',
  'CSIDriver', 'CSINode', 'VolumeAttachment', 'CustomResourceDefinition', 'APIService', 'PriorityClass',
  'RuntimeClass', 'IngressClass', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding', 'CertificateSigningRequest', 'FlowSchema', 'PriorityLevelConfiguration',
  'IPAddress', 'ServiceCIDR', 'DeviceClass',
]);

/** Resource names that the plural guess below gets wrong. */
const IRREGULAR: Record<string, string> = { Endpoints: 'endpoints' };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The resource of a kind, as k8s.io/apimachinery's meta.UnsafeGuessKindToResource names it (lower case, then
 * "es" after an "s", "ies" for a final "y", else "s"); right for the built-in kinds but Endpoints. kubectl asks
 * discovery instead; a check runs without an apiserver.
 */
export function resourceOf(kind: string): string {
  if (IRREGULAR[kind]) return IRREGULAR[kind];
  const singular = kind.toLowerCase();
  if (singular.endsWith('s')) return `${singular}es`;
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/** The files `-f PATH` names: the file itself, or a folder's .json/.yaml/.yml files (and its subfolders' with `recursive`), sorted. */
export function manifestFiles(path: string, recursive: boolean): string[] {
  if (!statSync(path).isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...manifestFiles(full, true));
    } else if (EXTENSIONS.some((e) => entry.name.endsWith(e))) {
      out.push(full);
    }
  }
  return out;
}

/**
 * The documents of a YAML stream, split as kubectl's YAMLReader splits them: a line that starts with `---`
 * followed by nothing but spaces or a comment ends a document. Documents with nothing but comments and blank
 * lines are dropped, as kubectl drops them.
 */
export function yamlDocuments(text: string): { text: string; line: number }[] {
  const docs: { text: string; line: number }[] = [];
  let current: string[] = [];
  let start = 1;
  const lines = text.split('\n');
  const flush = (): void => {
    if (current.some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) docs.push({ text: current.join('\n'), line: start });
  };
  lines.forEach((l, i) => {
    const rest = l.startsWith('---') ? l.slice(3).trim() : undefined;
    if (rest !== undefined && (rest === '' || rest.startsWith('#'))) {
      flush();
      current = [];
      start = i + 2;
    } else {
      current.push(l);
    }
  });
  flush();
  return docs;
}

/** The objects of one document: the document itself, or the items of a List (nested lists too). */
function objectsOf(doc: unknown, where: string, depth = 0): Record<string, unknown>[] {
  if (!isObject(doc)) throw new Error(`${where}: not a Kubernetes object (a mapping with apiVersion and kind)`);
  if (typeof doc.kind === 'string' && doc.kind.endsWith('List') && Array.isArray(doc.items)) {
    if (depth > 10) throw new Error(`${where}: lists nested more than 10 deep`);
    return doc.items.flatMap((item, i) => objectsOf(item, `${where} items[${i}]`, depth + 1));
  }
  if (typeof doc.apiVersion !== 'string' || !doc.apiVersion || typeof doc.kind !== 'string' || !doc.kind) {
    throw new Error(`${where}: not a Kubernetes object (no apiVersion or kind)`);
  }
  return [doc];
}

/** The CREATE of `obj` as the gateway's policy input, with the path `kubectl create` would POST it to. */
export function createReview(obj: Record<string, unknown>, defaultNamespace: string): { input: Record<string, unknown>; label: string } {
  const apiVersion = obj.apiVersion as string;
  const kind = obj.kind as string;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) as [string, string] : ['', apiVersion];
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const namespace = !CLUSTER_SCOPED.has(kind) ? (typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace) : '';
  const path = `${group ? `/apis/${group}` : '/api'}/${version}${namespace ? `/namespaces/${namespace}` : ''}/${resourceOf(kind)}`;
  const info = kubeRequestInfo('POST', path, {}, false);
  if (info.operation !== 'CREATE' || info.resource !== resourceOf(kind)) throw new Error(`${kind} ${apiVersion}: not a resource path (${path})`);
  const opts = writeOptions(info, {}, Buffer.alloc(0), 'application/json');
  const input = admissionReview({
    info, method: 'POST', query: {}, headers: { 'content-type': 'application/json' }, upstream: CHECK_UPSTREAM,
    operation: 'CREATE', object: inRequestNamespace(obj, info), oldObject: null, parsed: obj, userInfo: UNIDENTIFIED,
    dryRun: opts.dryRun, options: opts.options,
  });
  const name = typeof meta.name === 'string' && meta.name ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  return { input, label: `${kind} ${namespace ? `${namespace}/` : ''}${name}` };
}

/**
 * The objects of one file's text, each as one subject: one JSON object when `json`, else a YAML stream. `file`
 * names the source in subjects and messages.
 */
export function manifestSubjects(file: string, text: string, options: { json: boolean; namespace: string }): CheckSubject[] {
  const subjects: CheckSubject[] = [];
  const docs = options.json ? [{ text, line: 1 }] : yamlDocuments(text);
  docs.forEach((d, i) => {
    const where = `${file}#${i + 1}`;
    let doc: unknown;
    try {
      doc = options.json ? decodeJson(d.text) : decodeKubeYaml(d.text);
    } catch (err) {
      throw new Error(`${where} (document from line ${d.line}): ${(err as Error).message}`, { cause: err });
    }
    if (doc === null) return;
    for (const obj of objectsOf(doc, where)) {
      const { input, label } = createReview(obj, options.namespace);
      const subject = `${where} ${label}`;
      subjects.push({ file, subject, input, cases: [subject], defaultCase: subject });
    }
  });
  return subjects;
}

/** Every object of the files under `path` (`-f`), each as one subject; a `.json` file is one JSON object. */
export function kubernetesSubjects(path: string, options: { recursive: boolean; namespace: string; cwd: string }): CheckSubject[] {
  const files = manifestFiles(path, options.recursive);
  if (files.length === 0) throw new Error(`${path}: no .json, .yaml or .yml files`);
  return files.flatMap((full) => manifestSubjects(relative(options.cwd, full) || full, readFileSync(full, 'utf8'), {
    json: full.endsWith('.json'), namespace: options.namespace,
  }));
}
