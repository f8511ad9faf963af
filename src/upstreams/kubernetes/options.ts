/**
 * The options document of a write (CreateOptions, UpdateOptions, PatchOptions, DeleteOptions) built the way
 * kube-apiserver builds it, so that `request.options` and `request.dryRun` say what the apiserver will do.
 *
 * - Query parameters are converted as runtime.ParameterCodec does (k8s.io/apimachinery/pkg/apis/meta/v1
 *   zz_generated.conversion.go, autoConvert_url_Values_To_v1_*Options, with k8s.io/apimachinery/pkg/runtime
 *   conversion.go): a string or boolean option takes the FIRST value of a repeated parameter; a boolean is false
 *   only for "0" and for "false" in any case (strings.EqualFold), true for anything else, `force=1` included; an
 *   integer is strconv.ParseInt(v, 10, 64) of the first value and a bad one is a 400; `dryRun` takes every value.
 * - A DELETE with a non-empty body takes its options from the body alone and ignores the query, dryRun included
 *   (k8s.io/apiserver/pkg/endpoints/handlers/delete.go, DeleteResource and DeleteCollection); the body may be
 *   JSON, YAML or protobuf.
 * - Every dryRun value must be "All" (metav1 validation ValidateDryRun answers 422 otherwise), and a request is a
 *   dry run when there is any (k8s.io/apiserver/pkg/util/dryrun IsDryRun).
 */
import { WritegateError } from '../../errors.js';
import { decodeJson } from './body.js';
import type { KubeRequestInfo } from './request-info.js';
import { decodeKubeYaml } from './yaml.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

export interface WriteOptions {
  /** The options object admission sees; null for CONNECT. */
  options: Record<string, unknown> | null;
  /** `request.dryRun`: the apiserver will not persist this write. */
  dryRun: boolean;
}

function bad(message: string): WritegateError {
  return new WritegateError('WG_ERR_BAD_REQUEST', message);
}

/**
 * Go's strings.EqualFold(s, "false"): simple Unicode case folding, under which U+017F LATIN SMALL LETTER LONG S
 * is an "s" (so "falſe" is false to the apiserver).
 */
function isGoFalse(v: string): boolean {
  const runes = [...v];
  if (runes.length !== 5) return false;
  return runes.every((r, i) => {
    const want = 'false'[i]!;
    return r.toLowerCase() === want || (want === 's' && r === '\u017f');
  });
}

/** runtime.Convert_Slice_string_To_bool / _To_Pointer_bool: the first value; false only for "0" and "false" in any case. */
export function queryBool(values: string[]): boolean {
  const v = values[0] ?? '';
  return !(v === '0' || isGoFalse(v));
}

/** runtime.Convert_Slice_string_To_Pointer_int64: strconv.ParseInt(first, 10, 64); the apiserver answers 400 otherwise. */
function queryInt64(name: string, values: string[]): number {
  const v = values[0] ?? '';
  if (!/^[+-]?[0-9]+$/.test(v)) throw bad(`query parameter ${name} is not an integer (the apiserver refuses it)`);
  const n = BigInt(v);
  if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) throw bad(`query parameter ${name} is out of range (the apiserver refuses it)`);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw bad(`query parameter ${name} is too large to evaluate exactly`);
  return Number(n);
}

function present(query: Record<string, string[]>, key: string): string[] | undefined {
  const v = query[key];
  return v && v.length > 0 ? v : undefined;
}

/** DeleteOptions from the query (url.Values conversion), for a DELETE without a body. */
function deleteOptionsFromQuery(query: Record<string, string[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const gp = present(query, 'gracePeriodSeconds');
  if (gp) out.gracePeriodSeconds = queryInt64('gracePeriodSeconds', gp);
  const od = present(query, 'orphanDependents');
  if (od) out.orphanDependents = queryBool(od);
  const pp = present(query, 'propagationPolicy');
  if (pp) out.propagationPolicy = pp[0];
  const dr = present(query, 'dryRun');
  if (dr) out.dryRun = dr;
  const ig = present(query, 'ignoreStoreReadErrorWithClusterBreakingPotential');
  if (ig) out.ignoreStoreReadErrorWithClusterBreakingPotential = queryBool(ig);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The DeleteOptions fields a decoded JSON or YAML body sets, type-checked as Go's encoding/json decodes them into
 * metav1.DeleteOptions (field names case-sensitive, as sigs.k8s.io/json decodes; unknown fields ignored; null
 * leaves a field unset). A wrongly typed field is a 400 from the apiserver, so it is refused here.
 */
function deleteOptionsFromDocument(doc: unknown): Record<string, unknown> {
  if (!isObject(doc)) throw bad('a DeleteOptions body must be an object');
  if (doc.kind !== undefined && doc.kind !== null && doc.kind !== 'DeleteOptions') throw bad('a DELETE body must be DeleteOptions');
  const out: Record<string, unknown> = {};
  const typed = (key: string, ok: (v: unknown) => boolean): void => {
    const v = doc[key];
    if (v === undefined || v === null) return;
    if (!ok(v)) throw bad(`DeleteOptions.${key} has the wrong type (the apiserver refuses it)`);
    out[key] = v;
  };
  typed('gracePeriodSeconds', (v) => typeof v === 'number' && Number.isSafeInteger(v));
  typed('preconditions', (v) => isObject(v) && Object.entries(v).every(([k, x]) => !['uid', 'resourceVersion'].includes(k) || x === null || typeof x === 'string'));
  if (isObject(out.preconditions)) {
    const p = out.preconditions;
    out.preconditions = Object.fromEntries(['uid', 'resourceVersion'].filter((k) => typeof p[k] === 'string').map((k) => [k, p[k]]));
  }
  typed('orphanDependents', (v) => typeof v === 'boolean');
  typed('propagationPolicy', (v) => typeof v === 'string');
  typed('dryRun', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
  typed('ignoreStoreReadErrorWithClusterBreakingPotential', (v) => typeof v === 'boolean');
  return out;
}

/** A protobuf reader for the few messages a DeleteOptions body holds. */
class Pb {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw bad('truncated protobuf DeleteOptions');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
    throw bad('malformed protobuf varint');
  }

  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw bad('truncated protobuf DeleteOptions');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Reads one field: its number, wire type, and value (a varint or the bytes of a length-delimited field). */
  field(): { no: number; wire: number; varint?: bigint; bytes?: Buffer } {
    const tag = this.varint();
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) return { no, wire, varint: this.varint() };
    if (wire === 2) return { no, wire, bytes: this.bytes() };
    if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (this.pos + n > this.buf.length) throw bad('truncated protobuf DeleteOptions');
      this.pos += n;
      return { no, wire };
    }
    throw bad('unsupported protobuf wire type in DeleteOptions');
  }
}

const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/**
 * metav1.DeleteOptions from the apiserver's protobuf envelope (runtime.Unknown after "k8s\0";
 * k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto): gracePeriodSeconds = 1, preconditions = 2 (uid = 1,
 * resourceVersion = 2), orphanDependents = 3, propagationPolicy = 4, dryRun = 5 (repeated),
 * ignoreStoreReadErrorWithClusterBreakingPotential = 6. A repeated scalar field keeps its last value and a repeated
 * message field merges, as gogo-protobuf's generated Unmarshal does.
 */
export function decodeProtobufDeleteOptions(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw bad('a protobuf body must start with the k8s envelope');
  const envelope = new Pb(body.subarray(4));
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  while (!envelope.done) {
    const f = envelope.field();
    if (f.no === 1 && f.bytes) {
      const tm = new Pb(f.bytes);
      while (!tm.done) {
        const t = tm.field();
        if (t.no === 2 && t.bytes) kind = t.bytes.toString('utf8');
      }
    } else if (f.no === 2 && f.bytes) {
      raw = f.bytes;
    } else if (f.no === 3 && f.bytes && f.bytes.length > 0) {
      throw bad('an encoded protobuf DeleteOptions is not accepted');
    }
  }
  if (kind !== 'DeleteOptions') throw bad('a DELETE body must be DeleteOptions');
  const out: Record<string, unknown> = {};
  const r = new Pb(raw);
  while (!r.done) {
    const f = r.field();
    const asInt = (): number => {
      const v = BigInt.asIntN(64, f.varint ?? 0n);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw bad('DeleteOptions.gracePeriodSeconds is too large to evaluate exactly');
      return Number(v);
    };
    const wrong = (want: number): void => { if (f.wire !== want) throw bad('malformed protobuf DeleteOptions'); };
    switch (f.no) {
      case 1: wrong(0); out.gracePeriodSeconds = asInt(); break;
      case 2: {
        wrong(2);
        const p: Record<string, string> = isObject(out.preconditions) ? out.preconditions as Record<string, string> : {};
        const pr = new Pb(f.bytes!);
        while (!pr.done) {
          const x = pr.field();
          if (x.no === 1 && x.bytes) p.uid = x.bytes.toString('utf8');
          else if (x.no === 2 && x.bytes) p.resourceVersion = x.bytes.toString('utf8');
        }
        out.preconditions = p;
        break;
      }
      case 3: wrong(0); out.orphanDependents = f.varint !== 0n; break;
      case 4: wrong(2); out.propagationPolicy = f.bytes!.toString('utf8'); break;
      case 5: wrong(2); out.dryRun = [...((out.dryRun as string[] | undefined) ?? []), f.bytes!.toString('utf8')]; break;
      case 6: wrong(0); out.ignoreStoreReadErrorWithClusterBreakingPotential = f.varint !== 0n; break;
      default: break;
    }
  }
  return out;
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function lengthDelimited(no: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varintBytes((no << 3) | 2), ...varintBytes(bytes.length)]), bytes]);
}

/**
 * The protobuf DeleteOptions body with `preconditions.resourceVersion = rv` appended to its message, or undefined
 * when the client's body sets one itself. Appending is a merge in protobuf (a repeated message field merges, as
 * gogo-protobuf's Unmarshal does), so every byte the client sent stays as it was; only the envelope's length of
 * the message changes.
 */
export function pinProtobufDeleteOptions(body: Buffer, rv: string): Buffer | undefined {
  const current = decodeProtobufDeleteOptions(body).preconditions as { resourceVersion?: string } | undefined;
  if (current?.resourceVersion) return undefined;
  const precondition = lengthDelimited(2, lengthDelimited(2, Buffer.from(rv, 'utf8')));
  const envelope = new Pb(body.subarray(4));
  const fields: Buffer[] = [];
  let message = false;
  while (!envelope.done) {
    const f = envelope.field();
    if (!f.bytes) throw bad('unsupported protobuf envelope field');
    message ||= f.no === 2;
    fields.push(lengthDelimited(f.no, f.no === 2 ? Buffer.concat([f.bytes, precondition]) : f.bytes));
  }
  // An empty DeleteOptions may leave its (empty) message out of the envelope altogether.
  if (!message) fields.push(lengthDelimited(2, precondition));
  return Buffer.concat([PROTOBUF_MAGIC, ...fields]);
}

/** DeleteOptions from a non-empty DELETE body, decoded by its content type as the apiserver negotiates it. */
function deleteOptionsFromBody(body: Buffer, mediaType: string): Record<string, unknown> {
  if (mediaType === PROTOBUF) return decodeProtobufDeleteOptions(body);
  if (mediaType === 'application/yaml') return deleteOptionsFromDocument(decodeKubeYaml(body.toString('utf8')));
  if (mediaType === 'application/json' || mediaType === '') return deleteOptionsFromDocument(decodeJson(body.toString('utf8')));
  throw new WritegateError('WG_ERR_UNSUPPORTED_MEDIA_TYPE', `content type "${mediaType}" for a DeleteOptions body`);
}

/**
 * The options of a write and whether it is a dry run.
 *
 * @param verb  the request's verb ('create' also for a patch that creates its object)
 * @param body  the raw body (DELETE takes its options from it when it is non-empty)
 * @param mediaType the body's media type, lower-case, without parameters
 */
export function writeOptions(info: Pick<KubeRequestInfo, 'verb'>, query: Record<string, string[]>, body: Buffer, mediaType: string): WriteOptions {
  const head = { apiVersion: 'meta.k8s.io/v1' };
  let options: Record<string, unknown>;
  const str = (key: string): Record<string, string> => {
    const v = present(query, key);
    return v ? { [key]: v[0]! } : {};
  };
  const dryRunOf = (): Record<string, string[]> => {
    const v = present(query, 'dryRun');
    return v ? { dryRun: v } : {};
  };
  switch (info.verb) {
    case 'create': options = { kind: 'CreateOptions', ...head, ...dryRunOf(), ...str('fieldManager'), ...str('fieldValidation') }; break;
    case 'update': options = { kind: 'UpdateOptions', ...head, ...dryRunOf(), ...str('fieldManager'), ...str('fieldValidation') }; break;
    case 'patch': {
      const force = present(query, 'force');
      options = { kind: 'PatchOptions', ...head, ...dryRunOf(), ...(force ? { force: queryBool(force) } : {}), ...str('fieldManager'), ...str('fieldValidation') };
      break;
    }
    case 'delete':
    case 'deletecollection':
      options = { kind: 'DeleteOptions', ...head, ...(body.length > 0 ? deleteOptionsFromBody(body, mediaType) : deleteOptionsFromQuery(query)) };
      break;
    default:
      return { options: null, dryRun: false };
  }
  const dryRun = options.dryRun as string[] | undefined;
  if (dryRun && dryRun.some((v) => v !== 'All')) throw bad('dryRun accepts only "All" (the apiserver refuses other values)');
  return { options, dryRun: (dryRun?.length ?? 0) > 0 };
}
