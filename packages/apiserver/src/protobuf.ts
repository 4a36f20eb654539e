import { ApiError } from './errors.js';
import type { JsonObject, KubeObject } from './types.js';

/** Media type of Kubernetes protobuf bodies. */
export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

type Field = { no: number; wire: number; value: bigint | Buffer };

function readVarint(b: Buffer, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (let i = pos; i < b.length && i < pos + 10; i++) {
    const byte = b[i] as number;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, i + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

function fields(b: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [tag, p1] = readVarint(b, pos);
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(b, p1);
      out.push({ no, wire, value: v });
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = readVarint(b, p1);
      const end = p2 + Number(len);
      if (end > b.length) throw new Error('truncated field');
      out.push({ no, wire, value: b.subarray(p2, end) });
      pos = end;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (p1 + n > b.length) throw new Error('truncated field');
      out.push({ no, wire, value: b.subarray(p1, p1 + n) });
      pos = p1 + n;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

function str(f: Field[], no: number): string | undefined {
  const x = f.find((e) => e.no === no && e.wire === 2);
  return x === undefined ? undefined : (x.value as Buffer).toString('utf8');
}

function map(f: Field[], no: number): Record<string, string> | undefined {
  const entries = f.filter((e) => e.no === no && e.wire === 2);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = fields(e.value as Buffer);
    out[str(kv, 1) ?? ''] = str(kv, 2) ?? '';
  }
  return out;
}

/**
 * Decodes the small protobuf subset kubectl's typed `create` generators send (`kubectl create
 * namespace`, `kubectl create configmap`): type meta, the user-settable ObjectMeta fields and a
 * ConfigMap's `data`. Anything else in the message is ignored.
 */
export function decodeProtobufObject(body: Buffer): KubeObject {
  if (body.length < 4 || MAGIC.some((m, i) => body[i] !== m))
    throw ApiError.badRequest('provided protobuf body is not a Kubernetes protobuf envelope');
  try {
    const unknown = fields(body.subarray(4));
    const typeMeta = unknown.find((e) => e.no === 1 && e.wire === 2);
    const raw = unknown.find((e) => e.no === 2 && e.wire === 2);
    const tm = typeMeta === undefined ? [] : fields(typeMeta.value as Buffer);
    const obj = raw === undefined ? [] : fields(raw.value as Buffer);
    const metaField = obj.find((e) => e.no === 1 && e.wire === 2);
    const mf = metaField === undefined ? [] : fields(metaField.value as Buffer);
    const metadata: KubeObject['metadata'] = {};
    const name = str(mf, 1);
    const generateName = str(mf, 2);
    const namespace = str(mf, 3);
    if (name) metadata.name = name;
    if (generateName) metadata.generateName = generateName;
    if (namespace) metadata.namespace = namespace;
    const labels = map(mf, 11);
    const annotations = map(mf, 12);
    if (labels !== undefined) metadata.labels = labels;
    if (annotations !== undefined) metadata.annotations = annotations;
    const finalizers = mf
      .filter((e) => e.no === 14 && e.wire === 2)
      .map((e) => (e.value as Buffer).toString('utf8'));
    if (finalizers.length > 0) metadata.finalizers = finalizers;
    const out: KubeObject = { metadata };
    const apiVersion = str(tm, 1);
    const kind = str(tm, 2);
    if (apiVersion) out.apiVersion = apiVersion;
    if (kind) out.kind = kind;
    if (kind === 'ConfigMap') {
      const data = map(obj, 2);
      if (data !== undefined) out.data = data as JsonObject;
    }
    return out;
  } catch (e) {
    throw ApiError.badRequest(`unable to decode protobuf body: ${(e as Error).message}`);
  }
}
