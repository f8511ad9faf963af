/**
 * The simulator's own Kubernetes protobuf codec, written apart from the gateway's (src/upstreams/kubernetes/
 * protobuf.ts) from the wire format itself: the "k8s\0" magic and runtime.Unknown envelope
 * (k8s.io/apimachinery/pkg/runtime/generated.proto: typeMeta = 1, raw = 2), and the generated.proto field numbers of
 * ObjectMeta, Time, ConfigMap, Secret and Namespace (k8s.io/apimachinery/pkg/apis/meta/v1, k8s.io/api/core/v1).
 *
 * A narrower subset than a real apiserver, and it says so instead of guessing: it decodes ConfigMap, Secret and
 * Namespace whole and any other kind's metadata only (field 1, ObjectMeta in every top-level kind), and encodes
 * only objects whose every field it knows (canEncode), so the server answers JSON otherwise.
 */

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------
// Wire format (https://protobuf.dev/programming-guides/encoding/)

interface Field {
  no: number;
  wire: number;
  /** Varint value (wire 0). */
  int: bigint;
  /** Length-delimited bytes (wire 2). */
  bytes: Buffer;
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= buf.length || shift > 63n) throw new Error('truncated or overlong varint');
      const b = buf[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  };
  while (at < buf.length) {
    const tag = Number(varint());
    const wire = tag & 7;
    const field: Field = { no: tag >>> 3, wire, int: 0n, bytes: Buffer.alloc(0) };
    if (wire === 0) field.int = varint();
    else if (wire === 2) {
      const len = Number(varint());
      if (at + len > buf.length) throw new Error('truncated field');
      field.bytes = buf.subarray(at, at + len);
      at += len;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    out.push(field);
  }
  return out;
}

function str(f: Field): string {
  return f.bytes.toString('utf8');
}

class Writer {
  private readonly parts: Buffer[] = [];

  private varint(v: bigint): void {
    const bytes: number[] = [];
    let x = BigInt.asUintN(64, v);
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      bytes.push(x ? b | 0x80 : b);
    } while (x);
    this.parts.push(Buffer.from(bytes));
  }

  int(no: number, v: bigint | number | boolean): this {
    this.varint(BigInt((no << 3) | 0));
    this.varint(BigInt(typeof v === 'boolean' ? Number(v) : v));
    return this;
  }

  bytes(no: number, v: Buffer | string): this {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.varint(BigInt((no << 3) | 2));
    this.varint(BigInt(b.length));
    this.parts.push(b);
    return this;
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---------------------------------------------------------------------------
// Messages

function decodeMap(entries: Field[], binary: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    let key = '';
    let value: Buffer = Buffer.alloc(0);
    for (const f of fields(e.bytes)) {
      if (f.no === 1) key = str(f);
      if (f.no === 2) value = f.bytes;
    }
    out[key] = binary ? value.toString('base64') : value.toString('utf8');
  }
  return out;
}

function encodeMap(w: Writer, no: number, map: unknown, binary: boolean): void {
  if (!map || typeof map !== 'object') return;
  for (const key of Object.keys(map).sort()) {
    const value = String((map as Record<string, unknown>)[key]);
    w.bytes(no, new Writer().bytes(1, key).bytes(2, binary ? Buffer.from(value, 'base64') : value).done());
  }
}

/** metav1.Time: seconds since the epoch; JSON shows it RFC 3339 to the second. */
function decodeTime(buf: Buffer): string {
  const seconds = fields(buf).find((f) => f.no === 1)?.int ?? 0n;
  return new Date(Number(BigInt.asIntN(64, seconds)) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

const META_STRINGS: Record<number, string> = { 1: 'name', 2: 'generateName', 3: 'namespace', 5: 'uid', 6: 'resourceVersion' };

function decodeMeta(buf: Buffer): Obj {
  const meta: Obj = {};
  const all = fields(buf);
  for (const f of all) {
    const name = META_STRINGS[f.no];
    if (name && f.bytes.length) meta[name] = str(f);
    else if (f.no === 7) meta.generation = Number(BigInt.asIntN(64, f.int));
    else if (f.no === 8 && f.bytes.length) meta.creationTimestamp = decodeTime(f.bytes);
    else if (f.no === 14) meta.finalizers = [...((meta.finalizers as string[]) ?? []), str(f)];
  }
  const labels = all.filter((f) => f.no === 11);
  const annotations = all.filter((f) => f.no === 12);
  if (labels.length) meta.labels = decodeMap(labels, false);
  if (annotations.length) meta.annotations = decodeMap(annotations, false);
  return meta;
}

const META_KEYS = new Set(['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'labels', 'annotations', 'finalizers']);

function encodeMeta(meta: Obj): Buffer {
  const w = new Writer();
  for (const [no, name] of Object.entries(META_STRINGS)) if (typeof meta[name] === 'string') w.bytes(Number(no), meta[name] as string);
  if (typeof meta.generation === 'number') w.int(7, meta.generation);
  if (typeof meta.creationTimestamp === 'string') w.bytes(8, new Writer().int(1, Math.floor(Date.parse(meta.creationTimestamp) / 1000)).done());
  encodeMap(w, 11, meta.labels, false);
  encodeMap(w, 12, meta.annotations, false);
  for (const f of (meta.finalizers as string[] | undefined) ?? []) w.bytes(14, f);
  return w.done();
}

/** The kinds decoded and encoded whole: their fields after metadata (1). */
const BODIES: Record<string, { decode(all: Field[], obj: Obj): void; encode(w: Writer, obj: Obj): void; keys: string[] }> = {
  'v1/ConfigMap': {
    keys: ['data', 'binaryData', 'immutable'],
    decode(all, obj) {
      const data = all.filter((f) => f.no === 2);
      const binary = all.filter((f) => f.no === 3);
      if (data.length) obj.data = decodeMap(data, false);
      if (binary.length) obj.binaryData = decodeMap(binary, true);
      const immutable = all.find((f) => f.no === 4);
      if (immutable) obj.immutable = immutable.int !== 0n;
    },
    encode(w, obj) {
      encodeMap(w, 2, obj.data, false);
      encodeMap(w, 3, obj.binaryData, true);
      if (typeof obj.immutable === 'boolean') w.int(4, obj.immutable);
    },
  },
  'v1/Secret': {
    keys: ['data', 'type', 'stringData', 'immutable'],
    decode(all, obj) {
      const data = all.filter((f) => f.no === 2);
      const stringData = all.filter((f) => f.no === 4);
      if (data.length) obj.data = decodeMap(data, true);
      const type = all.find((f) => f.no === 3);
      if (type && type.bytes.length) obj.type = str(type);
      if (stringData.length) obj.stringData = decodeMap(stringData, false);
      const immutable = all.find((f) => f.no === 5);
      if (immutable) obj.immutable = immutable.int !== 0n;
    },
    encode(w, obj) {
      encodeMap(w, 2, obj.data, true);
      if (typeof obj.type === 'string') w.bytes(3, obj.type);
      encodeMap(w, 4, obj.stringData, false);
      if (typeof obj.immutable === 'boolean') w.int(5, obj.immutable);
    },
  },
  'v1/Namespace': {
    keys: [],
    // NamespaceSpec and NamespaceStatus (fields 2, 3) are left out: a Namespace with them is answered in JSON.
    decode() {},
    encode() {},
  },
};

/** True when the request body is a Kubernetes protobuf envelope. */
export function isProtobuf(buf: Buffer): boolean {
  return buf.subarray(0, 4).equals(MAGIC);
}

/** A protobuf body as the JSON object it stands for (see the file comment for what is decoded). */
export function decodeProtobuf(buf: Buffer): Obj {
  if (!isProtobuf(buf)) throw new Error('not a Kubernetes protobuf message (no k8s\\0 prefix)');
  const envelope = fields(buf.subarray(4));
  const typeMeta = fields(envelope.find((f) => f.no === 1)?.bytes ?? Buffer.alloc(0));
  const apiVersion = str(typeMeta.find((f) => f.no === 1) ?? { bytes: Buffer.alloc(0) } as Field);
  const kind = str(typeMeta.find((f) => f.no === 2) ?? { bytes: Buffer.alloc(0) } as Field);
  const encoding = envelope.find((f) => f.no === 3);
  if (encoding && encoding.bytes.length) throw new Error(`content encoding ${str(encoding)} is not supported`);
  const all = fields(envelope.find((f) => f.no === 2)?.bytes ?? Buffer.alloc(0));
  const obj: Obj = { apiVersion, kind, metadata: decodeMeta(all.find((f) => f.no === 1)?.bytes ?? Buffer.alloc(0)) };
  BODIES[`${apiVersion}/${kind}`]?.decode(all, obj);
  return obj;
}

/** True when every field of `obj` is one this codec writes, so its protobuf form loses nothing. */
export function canEncode(obj: Obj): boolean {
  const body = BODIES[`${String(obj.apiVersion)}/${String(obj.kind)}`];
  if (!body) return false;
  const known = new Set(['apiVersion', 'kind', 'metadata', ...body.keys]);
  const meta = (obj.metadata ?? {}) as Obj;
  return Object.keys(obj).every((k) => known.has(k)) && Object.keys(meta).every((k) => META_KEYS.has(k));
}

/** The protobuf envelope of an object canEncode accepts. */
export function encodeProtobuf(obj: Obj): Buffer {
  const body = BODIES[`${String(obj.apiVersion)}/${String(obj.kind)}`];
  if (!body || !canEncode(obj)) throw new Error(`the simulator does not encode ${String(obj.apiVersion)} ${String(obj.kind)} as protobuf`);
  const w = new Writer().bytes(1, encodeMeta((obj.metadata ?? {}) as Obj));
  body.encode(w, obj);
  const typeMeta = new Writer().bytes(1, String(obj.apiVersion)).bytes(2, String(obj.kind)).done();
  return Buffer.concat([MAGIC, new Writer().bytes(1, typeMeta).bytes(2, w.done()).bytes(3, '').bytes(4, '').done()]);
}
