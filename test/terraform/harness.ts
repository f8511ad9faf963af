/**
 * Real `terraform` (1.11, on the machine image) with real providers, for the Terraform end-to-end tests. Each
 * workspace is a folder of its own with a CLI configuration of its own (`TF_CLI_CONFIG_FILE`), so nothing of the
 * machine's `~/.terraformrc` or `~/.terraform.d` is used and nothing is fetched from a registry:
 * - the Kubernetes provider that scripts/setup-terraform-providers.sh built is installed with `dev_overrides`
 *   (plan, apply and destroy run without `terraform init`);
 * - the AWS provider 5.100 comes from the image's filesystem mirror (`terraform init` installs it from there).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/opa/binary.js';

const TERRAFORM = process.env.TERRAFORM_BIN ?? 'terraform';

/** The image's Terraform filesystem mirror (see ../shared/research/terraform.md). */
const MIRROR = process.env.WRITEGATE_TF_MIRROR ?? '/opt/tf-plugins';

const MANIFEST = join(projectRoot(), '.tools', 'terraform-providers.json');

/** The folder holding `terraform-provider-kubernetes`, from scripts/setup-terraform-providers.sh's manifest. */
function kubernetesProviderDir(): string {
  if (!existsSync(MANIFEST)) {
    throw new Error(`the Terraform Kubernetes provider is not built (${MANIFEST} is missing): run bash scripts/setup-terraform-providers.sh`);
  }
  const { kubernetes } = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { kubernetes: { dir: string } };
  if (!existsSync(join(kubernetes.dir, 'terraform-provider-kubernetes'))) {
    throw new Error(`the Terraform Kubernetes provider is missing from ${kubernetes.dir}: run bash scripts/setup-terraform-providers.sh`);
  }
  return kubernetes.dir;
}

/** The mirror, when it holds the AWS provider 5.100.0; throws with the fix when it does not. */
function awsProviderMirror(): string {
  const provider = join(MIRROR, 'registry.terraform.io', 'hashicorp', 'aws', '5.100.0');
  if (!existsSync(provider)) {
    throw new Error(`the AWS provider 5.100.0 is not in the Terraform filesystem mirror: ${provider} does not exist `
      + '(the machine image ships it; set WRITEGATE_TF_MIRROR to the folder that holds registry.terraform.io/)');
  }
  return MIRROR;
}

/** One HTTP request a provider logged (with `TF_LOG` set): what it sent, as the client saw it. */
export interface ProviderRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** Request headers as sent (lower-case names), without `authorization`. */
  headers: Record<string, string>;
  /** The status of the answer, when the provider logged one with the request's id (the Kubernetes provider). */
  status?: number;
  /** The AWS API action (`CreateAccessKey`), for the AWS provider. */
  action?: string;
}

export interface TerraformRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Every HTTP request the provider logged during the run, in order. */
  requests: ProviderRequest[];
}

export interface Workspace {
  dir: string;
  /** Writes (or replaces) a file of the configuration. */
  write(name: string, text: string): void;
  /** Runs `terraform <args>` in the folder, with `-no-color` and no input. */
  run(args: string[]): Promise<TerraformRun>;
  close(): void;
}

export interface WorkspaceOptions {
  /** Install the Kubernetes provider from scripts/setup-terraform-providers.sh's build (dev_overrides). */
  kubernetes?: boolean;
  /** Install the AWS provider 5.100 from the image's mirror (run `terraform init` first). */
  aws?: boolean;
  /** More environment for terraform and its providers (e.g. TF_VAR_*). */
  env?: Record<string, string>;
}

/** The CLI configuration of a workspace: only the providers asked for, from local folders. */
function cliConfig(options: WorkspaceOptions): string {
  const lines = ['provider_installation {'];
  if (options.kubernetes) {
    lines.push('  dev_overrides {', `    "hashicorp/kubernetes" = ${JSON.stringify(kubernetesProviderDir())}`, '  }');
  }
  if (options.aws) {
    lines.push('  filesystem_mirror {', `    path    = ${JSON.stringify(awsProviderMirror())}`,
      '    include = ["registry.terraform.io/hashicorp/aws"]', '  }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

/**
 * The request headers of a log entry, by lower-case name, without `authorization` (which the providers log in clear
 * or masked); `header` names the header a field holds, or undefined for fields that are not headers.
 */
function headerFields(entry: Record<string, unknown>, header: (field: string) => string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [field, value] of Object.entries(entry)) {
    const name = header(field)?.toLowerCase();
    if (name && name !== 'authorization' && typeof value === 'string') headers[name] = value;
  }
  return headers;
}

const AWS_HEADER = 'http.request.header.';

/**
 * The HTTP requests of a provider's debug log (`TF_LOG=JSON` writes it as JSON lines), each as it went on the wire.
 * - Both halves of the Kubernetes provider wrap client-go's transport in terraform-plugin-sdk's logging transport
 *   when logging is on (kubernetes/provider.go; manifest/provider/clients.go, which leaves out the large
 *   `GET /openapi/v2`): a record per request and per response, joined by `tf_http_trans_id`, with
 *   `tf_http_req_method`, `tf_http_req_uri`, `tf_http_res_status_code` and a field per header
 *   (helper/logging/logging_http_transport.go).
 * - The AWS provider logs "HTTP Request Sent" (aws-sdk-go-base logging) with `http.method`, `http.url`,
 *   `rpc.method` (the action) and `http.request.header.<name with _ for ->`.
 */
function providerRequests(log: string): ProviderRequest[] {
  const requests: ProviderRequest[] = [];
  const byTransaction = new Map<string, ProviderRequest>();
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: Record<string, unknown>;
    try { entry = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
    const id = entry.tf_http_trans_id;
    if (typeof id === 'string' && entry.tf_http_op_type === 'request') {
      const req: ProviderRequest = {
        method: String(entry.tf_http_req_method),
        url: String(entry.tf_http_req_uri),
        // Header fields are textproto's canonical names (Content-Type); the logger's own are lower-case or "@...".
        headers: headerFields(entry, (f) => (/^[A-Z]/.test(f) ? f : undefined)),
      };
      byTransaction.set(id, req);
      requests.push(req);
    } else if (typeof id === 'string' && entry.tf_http_op_type === 'response') {
      const req = byTransaction.get(id);
      if (req) req.status = Number(entry.tf_http_res_status_code);
    } else if (entry['@message'] === 'HTTP Request Sent' && typeof entry['http.url'] === 'string') {
      const url = new URL(entry['http.url']);
      requests.push({
        method: String(entry['http.method']),
        url: `${url.pathname}${url.search}`,
        headers: headerFields(entry, (f) => (f.startsWith(AWS_HEADER) ? f.slice(AWS_HEADER.length).replaceAll('_', '-') : undefined)),
        action: String(entry['rpc.method']),
      });
    }
  }
  return requests;
}

/** A Terraform working folder with its own CLI configuration, provider log and environment. */
export function workspace(options: WorkspaceOptions = {}): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'writegate-tf-'));
  const config = join(dir, 'cli.tfrc');
  writeFileSync(config, cliConfig(options));
  let runs = 0;
  return {
    dir,
    write: (name, text) => writeFileSync(join(dir, name), text),
    run: (args) => {
      const logPath = join(dir, `provider-${++runs}.log`);
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: dir,
        TF_CLI_CONFIG_FILE: config,
        CHECKPOINT_DISABLE: '1',
        TF_IN_AUTOMATION: '1',
        TF_INPUT: '0',
        TF_LOG: 'JSON',
        // kubernetes_manifest's half of the provider wraps its transport only at its own trace level
        // (manifest/provider/configure.go), read from the first of these that is set (plugin.go).
        TF_LOG_PROVIDER_KUBERNETES: 'TRACE',
        TF_LOG_PATH: logPath,
        ...options.env,
      };
      return new Promise((resolve, reject) => {
        execFile(TERRAFORM, [...args, '-no-color'], { cwd: dir, env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
            reject(new Error(`terraform is not installed (looked for "${TERRAFORM}"; the machine image ships it)`));
            return;
          }
          const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, requests: providerRequests(log) });
        });
      });
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
