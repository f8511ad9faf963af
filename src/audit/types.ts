/** The sources `writegate audit` reads, in the order reports list them. */
export const AUDIT_SOURCES = ['kubernetes', 'netbox', 'cloudflare', 'terraform', 'aws'] as const;

export type AuditSourceName = (typeof AUDIT_SOURCES)[number];

/** The version of the audit input document (policies/README.md, "Audit input"). */
export const AUDIT_INPUT_VERSION = 'writegate.dev/v1';

/** One object that exists, as its source read it: what the audit rules are asked about. */
export interface AuditObject {
  /** What kind of object within the source: `v1/pods`, `dcim/devices`, `dns_records`, `aws_s3_bucket`, `users`. */
  resource: string;
  /** Where the object is, unique within its source: an API path, a Terraform address. */
  address: string;
  /** The object as the source's read API answered it (Terraform: with its sensitive values replaced). */
  object: Record<string, unknown>;
  /** What a rule needs besides the object (a Kubernetes object's kind, a DNS record's zone name). */
  context: Record<string, unknown>;
}

/**
 * Where a source reads from: one configured upstream (or the Terraform state file), and how it reads its objects,
 * a page at a time, following pagination to the end.
 */
export interface AuditSource {
  source: AuditSourceName;
  /** The upstream's name in the configuration, or the state file for Terraform. */
  origin: string;
  pages(): AsyncIterable<AuditObject[]>;
  close(): Promise<void>;
}

/** One violation an audit rule found. */
export interface AuditViolation {
  source: AuditSourceName;
  origin: string;
  resource: string;
  address: string;
  rule: string;
  message: string;
  /** The `decision_id` OPA gave the evaluation that found it (in OPA's decision log). */
  decision_id: string;
}

/** How one source's audit went. */
export interface SourceOutcome {
  source: AuditSourceName;
  origin: string;
  /** Objects evaluated. */
  objects: number;
  violations: number;
  /** Why the source could not be read to the end, or some of its objects not evaluated; null when it was. */
  error: string | null;
}
