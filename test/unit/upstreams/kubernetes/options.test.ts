import { describe, expect, it } from 'vitest';
import { decodeProtobufDeleteOptions, pinProtobufDeleteOptions, queryBool, writeOptions } from '../../../../src/upstreams/kubernetes/options.js';

const none = Buffer.alloc(0);

/** A protobuf varint. */
function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
const field = (no: number, bytes: Buffer): Buffer => Buffer.from([...varint(BigInt((no << 3) | 2)), ...varint(BigInt(bytes.length)), ...bytes]);
const str = (no: number, s: string): Buffer => field(no, Buffer.from(s));
const num = (no: number, n: bigint): Buffer => Buffer.from([...varint(BigInt(no << 3)), ...varint(n)]);

/** A protobuf DeleteOptions in the apiserver's envelope. */
function pbDeleteOptions(raw: Buffer, kind = 'DeleteOptions'): Buffer {
  const typeMeta = Buffer.concat([str(1, 'v1'), str(2, kind)]);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, typeMeta), field(2, raw)]);
}

describe('write options as the apiserver builds them', () => {
  it('F11: a boolean option is false only for "0" and "false" in any case; force=1 is true', () => {
    for (const t of ['1', 'true', 'True', 'yes', '', 'anything']) expect(queryBool([t]), t).toBe(true);
    for (const f of ['0', 'false', 'FALSE', 'fAlSe', 'fal\u017fe']) expect(queryBool([f]), f).toBe(false);
    expect(writeOptions({ verb: 'patch' }, { force: ['1'] }, none, '').options).toMatchObject({ kind: 'PatchOptions', force: true });
    expect(writeOptions({ verb: 'patch' }, { force: ['0'] }, none, '').options).toMatchObject({ force: false });
  });

  it('F11: a repeated parameter counts by its first value; dryRun takes all of them', () => {
    expect(writeOptions({ verb: 'patch' }, { force: ['false', 'true'], fieldManager: ['a', 'b'] }, none, '').options)
      .toMatchObject({ force: false, fieldManager: 'a' });
    expect(writeOptions({ verb: 'create' }, { dryRun: ['All', 'All'] }, none, '')).toMatchObject({ dryRun: true, options: { dryRun: ['All', 'All'] } });
  });

  it('F11: refuses what the apiserver refuses: a bad integer, a dryRun other than All', () => {
    expect(() => writeOptions({ verb: 'delete' }, { gracePeriodSeconds: ['0x10'] }, none, '')).toThrow(/not an integer/);
    expect(() => writeOptions({ verb: 'delete' }, { gracePeriodSeconds: ['99999999999999999999'] }, none, '')).toThrow(/out of range/);
    expect(() => writeOptions({ verb: 'create' }, { dryRun: ['All', 'Server'] }, none, '')).toThrow(/dryRun/);
    expect(writeOptions({ verb: 'delete' }, { gracePeriodSeconds: ['+5'], orphanDependents: ['1'] }, none, '').options)
      .toEqual({ kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', gracePeriodSeconds: 5, orphanDependents: true });
  });

  it('F4: a DELETE with a body takes its options from the body alone; the query dryRun does not count', () => {
    const body = Buffer.from(JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground', unknown: 1 }));
    const o = writeOptions({ verb: 'delete' }, { dryRun: ['All'], propagationPolicy: ['Orphan'] }, body, 'application/json');
    expect(o).toEqual({ dryRun: false, options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Foreground' } });
    const dry = writeOptions({ verb: 'deletecollection' }, {}, Buffer.from('{"dryRun":["All"]}'), 'application/json');
    expect(dry.dryRun).toBe(true);
    const yaml = writeOptions({ verb: 'delete' }, { dryRun: ['All'] }, Buffer.from('gracePeriodSeconds: 0x0\norphanDependents: yes\n'), 'application/yaml');
    expect(yaml).toEqual({ dryRun: false, options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', gracePeriodSeconds: 0, orphanDependents: true } });
  });

  it('F4: refuses a DeleteOptions body the apiserver would refuse (wrong kind, wrong types, unknown media type)', () => {
    expect(() => writeOptions({ verb: 'delete' }, {}, Buffer.from('{"kind":"Pod"}'), 'application/json')).toThrow(/DeleteOptions/);
    expect(() => writeOptions({ verb: 'delete' }, {}, Buffer.from('{"gracePeriodSeconds":"5"}'), 'application/json')).toThrow(/wrong type/);
    expect(() => writeOptions({ verb: 'delete' }, {}, Buffer.from('[]'), 'application/json')).toThrow(/object/);
    expect(() => writeOptions({ verb: 'delete' }, {}, Buffer.from('x'), 'text/plain')).toThrow(/content type/);
  });

  it('F4: decodes a protobuf DeleteOptions body (repeated scalars keep the last value, dryRun appends)', () => {
    const raw = Buffer.concat([num(1, 30n), num(1, -1n), str(4, 'Orphan'), str(5, 'All'), field(2, Buffer.concat([str(1, 'u-1'), str(2, '42')])), num(3, 1n)]);
    expect(decodeProtobufDeleteOptions(pbDeleteOptions(raw))).toEqual({
      gracePeriodSeconds: -1, propagationPolicy: 'Orphan', dryRun: ['All'], preconditions: { uid: 'u-1', resourceVersion: '42' }, orphanDependents: true,
    });
    const o = writeOptions({ verb: 'delete' }, { dryRun: ['All'] }, pbDeleteOptions(str(4, 'Background')), 'application/vnd.kubernetes.protobuf');
    expect(o).toEqual({ dryRun: false, options: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', propagationPolicy: 'Background' } });
    expect(() => decodeProtobufDeleteOptions(pbDeleteOptions(Buffer.alloc(0), 'Pod'))).toThrow(/DeleteOptions/);
    expect(() => decodeProtobufDeleteOptions(Buffer.from('{}'))).toThrow(/envelope/);
  });

  it('F15: pins a protobuf DeleteOptions by appending preconditions to its message, keeping every byte the client sent', () => {
    const client = pbDeleteOptions(Buffer.concat([str(4, 'Background'), field(2, str(1, 'u-1'))]));
    const pinned = pinProtobufDeleteOptions(client, '77')!;
    expect(decodeProtobufDeleteOptions(pinned)).toEqual({ propagationPolicy: 'Background', preconditions: { uid: 'u-1', resourceVersion: '77' } });
    expect(pinned.includes(Buffer.concat([str(4, 'Background'), field(2, str(1, 'u-1'))]))).toBe(true);
    expect(decodeProtobufDeleteOptions(pinProtobufDeleteOptions(Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, Buffer.concat([str(1, 'v1'), str(2, 'DeleteOptions')]))]), '5')!))
      .toEqual({ preconditions: { resourceVersion: '5' } });
    expect(pinProtobufDeleteOptions(pbDeleteOptions(field(2, str(2, '70'))), '77')).toBeUndefined();
  });
});
