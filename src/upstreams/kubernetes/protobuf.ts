/**
 * Kubernetes protobuf envelope codec (`application/vnd.kubernetes.protobuf`).
 *
 * kubectl ≥ 1.32 sends typed creates (`create configmap|secret|namespace|deployment`,
 * `auth can-i`, `auth whoami`) in protobuf, and answering 415 does not make it fall
 * back to JSON, so the gateway has to read these bodies itself.
 *
 * Wire shape (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the 4 magic bytes
 * `k8s\0` followed by a `runtime.Unknown`
 * (apimachinery/pkg/runtime/generated.proto):
 *   Unknown  { TypeMeta typeMeta = 1; bytes raw = 2; string contentEncoding = 3; string contentType = 4; }
 *   TypeMeta { string apiVersion = 1; string kind = 2; }
 * `raw` is the typed object, and field 1 of every built-in top-level object is
 * `ObjectMeta`, so apiVersion/kind/metadata decode for any kind. Spec fields need
 * the per-type schema; the field numbers below were checked against the
 * generated.proto files of k8s.io/api core/v1 and apps/v1 and
 * k8s.io/apimachinery meta/v1.
 *
 * The decoder records every field it had to skip, so callers can tell a complete
 * decode from a partial one (`inspectKubeProtobuf`).
 */

export const KUBE_PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
  [field: string]: unknown;
}

export interface KubeProtobufInspection {
  object: KubeObject;
  /** true when no field of the body was skipped. */
  complete: boolean;
  /** dotted paths (field numbers for unknown fields) that were skipped. */
  skipped: string[];
}

export class KubeProtobufError extends Error {
  readonly code = 'WG_PROTOBUF_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeProtobufError';
  }
}

// ---------------------------------------------------------------------------
// Wire-level reader and writer (protobuf encoding spec: varint = 0, len = 2).

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new KubeProtobufError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new KubeProtobufError('varint longer than 10 bytes');
    }
  }

  bytes(): Buffer {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new KubeProtobufError('length-delimited field runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Skips a field and reports whether it carried information. */
  skip(wire: number): boolean {
    switch (wire) {
      case WIRE_VARINT:
        return this.varint() !== 0n;
      case WIRE_I64:
        this.pos += 8;
        return true;
      case WIRE_LEN:
        return this.bytes().length > 0;
      case WIRE_I32:
        this.pos += 4;
        return true;
      default:
        throw new KubeProtobufError(`unsupported wire type ${wire}`);
    }
  }
}

function encodeVarint(value: bigint): Buffer {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

class Writer {
  private readonly parts: Buffer[] = [];

  private tag(field: number, wire: number): void {
    this.parts.push(encodeVarint(BigInt((field << 3) | wire)));
  }

  varint(field: number, value: bigint): void {
    this.tag(field, WIRE_VARINT);
    this.parts.push(encodeVarint(value));
  }

  bytes(field: number, value: Buffer): void {
    this.tag(field, WIRE_LEN);
    this.parts.push(encodeVarint(BigInt(value.length)), value);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---------------------------------------------------------------------------
// Schemas: field number → JSON name and type.

type FieldSpec =
  | { name: string; type: 'string' | 'bytes' | 'bool' | 'time' | 'map' | 'mapBytes'; repeated?: boolean }
  /** `keepZero`: a pointer field (`*int32`) whose zero value is meaningful. */
  | { name: string; type: 'int'; keepZero?: boolean }
  | { name: string; type: 'message'; schema: Schema; repeated?: boolean };

type Schema = Readonly<Record<number, FieldSpec>>;

// apimachinery/pkg/apis/meta/v1/generated.proto
const ownerReference: Schema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const objectMeta: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int' },
  11: { name: 'labels', type: 'map' },
  12: { name: 'annotations', type: 'map' },
  13: { name: 'ownerReferences', type: 'message', schema: ownerReference, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const labelSelectorRequirement: Schema = {
  1: { name: 'key', type: 'string' },
  2: { name: 'operator', type: 'string' },
  3: { name: 'values', type: 'string', repeated: true },
};

const labelSelector: Schema = {
  1: { name: 'matchLabels', type: 'map' },
  2: { name: 'matchExpressions', type: 'message', schema: labelSelectorRequirement, repeated: true },
};

// api/core/v1/generated.proto
const configMap: Schema = {
  1: { name: 'metadata', type: 'message', schema: objectMeta },
  2: { name: 'data', type: 'map' },
  3: { name: 'binaryData', type: 'mapBytes' },
  4: { name: 'immutable', type: 'bool' },
};

const secret: Schema = {
  1: { name: 'metadata', type: 'message', schema: objectMeta },
  2: { name: 'data', type: 'mapBytes' },
  3: { name: 'type', type: 'string' },
  4: { name: 'stringData', type: 'map' },
  5: { name: 'immutable', type: 'bool' },
};

const namespace: Schema = {
  1: { name: 'metadata', type: 'message', schema: objectMeta },
  2: { name: 'spec', type: 'message', schema: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  // NamespaceStatus.conditions (2) is not decoded: a client never sends it on create.
  3: { name: 'status', type: 'message', schema: { 1: { name: 'phase', type: 'string' } } },
};

// Container and PodSpec carry dozens of fields; only the ones policies look at
// first are decoded. Everything else is reported as skipped.
const container: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'image', type: 'string' },
};

const podSpec: Schema = {
  2: { name: 'containers', type: 'message', schema: container, repeated: true },
  20: { name: 'initContainers', type: 'message', schema: container, repeated: true },
};

const podTemplateSpec: Schema = {
  1: { name: 'metadata', type: 'message', schema: objectMeta },
  2: { name: 'spec', type: 'message', schema: podSpec },
};

const pod: Schema = {
  1: { name: 'metadata', type: 'message', schema: objectMeta },
  2: { name: 'spec', type: 'message', schema: podSpec },
  3: { name: 'status', type: 'message', schema: {} },
};

// api/apps/v1/generated.proto
const deployment: Schema = {
  1: { name: 'metadata', type: 'message', schema: objectMeta },
  2: {
    name: 'spec',
    type: 'message',
    schema: {
      1: { name: 'replicas', type: 'int', keepZero: true },
      2: { name: 'selector', type: 'message', schema: labelSelector },
      3: { name: 'template', type: 'message', schema: podTemplateSpec },
    },
  },
  3: { name: 'status', type: 'message', schema: {} },
};

const metadataOnly: Schema = { 1: { name: 'metadata', type: 'message', schema: objectMeta } };

const schemas: Readonly<Record<string, Schema>> = {
  'v1/ConfigMap': configMap,
  'v1/Secret': secret,
  'v1/Namespace': namespace,
  'v1/Pod': pod,
  'apps/v1/Deployment': deployment,
};

/**
 * Kinds whose every field is decoded (and encoded); for these a complete decode is
 * guaranteed for any body a client can send. Other kinds decode apiVersion, kind
 * and metadata (plus a few spec fields for Deployment and Pod); check
 * `inspectKubeProtobuf(...).complete` to see whether anything was skipped.
 */
export const fullyDecodedKinds: readonly string[] = ['v1/ConfigMap', 'v1/Secret', 'v1/Namespace'];

/** Kinds with some spec fields decoded beyond metadata. */
export const partiallyDecodedKinds: readonly string[] = ['v1/Pod', 'apps/v1/Deployment'];

// ---------------------------------------------------------------------------
// Decoding

function timeToJSON(buf: Buffer): string | undefined {
  const r = new Reader(buf);
  let seconds = 0n;
  while (!r.done) {
    const tag = Number(r.varint());
    if (tag >>> 3 === 1 && (tag & 7) === WIRE_VARINT) seconds = BigInt.asIntN(64, r.varint());
    else r.skip(tag & 7);
  }
  // meta/v1 Time marshals the zero time as an empty message; JSON renders it as null.
  if (buf.length === 0) return undefined;
  // JSON serialisation of metav1.Time is RFC 3339 with second precision.
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeMapEntry(buf: Buffer, binary: boolean): [string, string] {
  const r = new Reader(buf);
  let key = '';
  let value = '';
  while (!r.done) {
    const tag = Number(r.varint());
    const field = tag >>> 3;
    if ((tag & 7) !== WIRE_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const b = r.bytes();
    if (field === 1) key = b.toString('utf8');
    // map<string, bytes> renders as base64 in JSON (Secret.data, ConfigMap.binaryData).
    else if (field === 2) value = binary ? b.toString('base64') : b.toString('utf8');
  }
  return [key, value];
}

function decodeMessage(buf: Buffer, schema: Schema, path: string, skipped: string[]): Record<string, unknown> {
  const r = new Reader(buf);
  const out: Record<string, unknown> = {};
  while (!r.done) {
    const tag = Number(r.varint());
    const fieldNo = tag >>> 3;
    const wire = tag & 7;
    const spec = schema[fieldNo];
    if (!spec) {
      if (r.skip(wire)) skipped.push(`${path}#${fieldNo}`);
      continue;
    }
    const here = path ? `${path}.${spec.name}` : spec.name;
    switch (spec.type) {
      case 'int': {
        if (wire !== WIRE_VARINT) throw new KubeProtobufError(`${here}: expected varint`);
        const v = Number(BigInt.asIntN(64, r.varint()));
        if (v !== 0 || spec.keepZero) out[spec.name] = v;
        break;
      }
      case 'bool': {
        if (wire !== WIRE_VARINT) throw new KubeProtobufError(`${here}: expected varint`);
        out[spec.name] = r.varint() !== 0n;
        break;
      }
      default: {
        if (wire !== WIRE_LEN) throw new KubeProtobufError(`${here}: expected a length-delimited field`);
        const b = r.bytes();
        if (spec.type === 'map' || spec.type === 'mapBytes') {
          const [k, v] = decodeMapEntry(b, spec.type === 'mapBytes');
          const map = (out[spec.name] ??= {}) as Record<string, string>;
          map[k] = v;
          break;
        }
        let value: unknown;
        if (spec.type === 'string') value = b.toString('utf8');
        else if (spec.type === 'bytes') value = b.toString('base64');
        else if (spec.type === 'time') value = timeToJSON(b);
        else if (spec.type === 'message') value = decodeMessage(b, spec.schema, here, skipped);
        if ('repeated' in spec && spec.repeated) {
          ((out[spec.name] ??= []) as unknown[]).push(value);
        } else if (value !== undefined && value !== '') {
          // Go's protobuf marshaller writes empty non-pointer strings; JSON omits them.
          out[spec.name] = value;
        }
      }
    }
  }
  return out;
}

function readEnvelope(buf: Buffer): { apiVersion: string; kind: string; raw: Buffer } {
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new KubeProtobufError('body does not start with the Kubernetes protobuf magic k8s\\0');
  }
  const r = new Reader(buf.subarray(MAGIC.length));
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  let contentEncoding = '';
  while (!r.done) {
    const tag = Number(r.varint());
    const field = tag >>> 3;
    if ((tag & 7) !== WIRE_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const b = r.bytes();
    if (field === 1) {
      const tm = decodeMessage(b, { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } }, '', []);
      apiVersion = (tm.apiVersion as string | undefined) ?? '';
      kind = (tm.kind as string | undefined) ?? '';
    } else if (field === 2) raw = b;
    else if (field === 3) contentEncoding = b.toString('utf8');
  }
  if (contentEncoding !== '') throw new KubeProtobufError(`unsupported contentEncoding ${JSON.stringify(contentEncoding)}`);
  if (!kind) throw new KubeProtobufError('envelope carries no kind');
  return { apiVersion, kind, raw };
}

export function isKubeProtobuf(buf: Buffer): boolean {
  return buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC);
}

/** Decodes a body and reports which fields were skipped. Throws KubeProtobufError on malformed input. */
export function inspectKubeProtobuf(buf: Buffer): KubeProtobufInspection {
  const { apiVersion, kind, raw } = readEnvelope(buf);
  const schema = schemas[`${apiVersion}/${kind}`] ?? metadataOnly;
  const skipped: string[] = [];
  let body: Record<string, unknown>;
  try {
    body = decodeMessage(raw, schema, '', skipped);
  } catch (err) {
    if (err instanceof KubeProtobufError) throw err;
    throw new KubeProtobufError('malformed protobuf object', { cause: err });
  }
  const object: KubeObject = { apiVersion, kind, ...body, metadata: (body.metadata as Record<string, unknown>) ?? {} };
  return { object, complete: skipped.length === 0, skipped };
}

export function decodeKubeProtobuf(buf: Buffer): KubeObject {
  return inspectKubeProtobuf(buf).object;
}

// ---------------------------------------------------------------------------
// Encoding

function encodeMessage(obj: Record<string, unknown>, schema: Schema): Buffer {
  const w = new Writer();
  const fields = Object.entries(schema).sort(([a], [b]) => Number(a) - Number(b));
  for (const [no, spec] of fields) {
    const field = Number(no);
    const value = obj[spec.name];
    if (value === undefined || value === null) continue;
    switch (spec.type) {
      case 'int':
        w.varint(field, BigInt(value as number));
        break;
      case 'bool':
        w.varint(field, value ? 1n : 0n);
        break;
      case 'map':
      case 'mapBytes':
        for (const [k, v] of Object.entries(value as Record<string, string>)) {
          const entry = new Writer();
          entry.bytes(1, Buffer.from(k, 'utf8'));
          entry.bytes(2, spec.type === 'mapBytes' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
          w.bytes(field, entry.finish());
        }
        break;
      default: {
        const items = 'repeated' in spec && spec.repeated ? (value as unknown[]) : [value];
        for (const item of items) {
          if (spec.type === 'string') w.bytes(field, Buffer.from(String(item), 'utf8'));
          else if (spec.type === 'bytes') w.bytes(field, Buffer.from(String(item), 'base64'));
          else if (spec.type === 'time') {
            const t = new Writer();
            t.varint(1, BigInt(Math.floor(Date.parse(String(item)) / 1000)));
            w.bytes(field, t.finish());
          } else if (spec.type === 'message') w.bytes(field, encodeMessage(item as Record<string, unknown>, spec.schema));
        }
      }
    }
  }
  return w.finish();
}

/** True when `encodeKubeProtobuf` can write every field of this kind. */
export function canEncodeKubeProtobuf(apiVersion: string, kind: string): boolean {
  return fullyDecodedKinds.includes(`${apiVersion}/${kind}`);
}

/**
 * Encodes an object in the envelope. Fields outside the kind's schema are dropped,
 * so use it for kinds listed in `fullyDecodedKinds` when the result must be exact
 * (`canEncodeKubeProtobuf`).
 */
export function encodeKubeProtobuf(obj: { apiVersion: string; kind: string; [field: string]: unknown }): Buffer {
  const schema = schemas[`${obj.apiVersion}/${obj.kind}`] ?? metadataOnly;
  const typeMeta = new Writer();
  typeMeta.bytes(1, Buffer.from(obj.apiVersion, 'utf8'));
  typeMeta.bytes(2, Buffer.from(obj.kind, 'utf8'));
  const unknown = new Writer();
  unknown.bytes(1, typeMeta.finish());
  unknown.bytes(2, encodeMessage(obj, schema));
  // contentEncoding and contentType are written empty, as the Go marshaller does.
  unknown.bytes(3, Buffer.alloc(0));
  unknown.bytes(4, Buffer.alloc(0));
  return Buffer.concat([MAGIC, unknown.finish()]);
}
