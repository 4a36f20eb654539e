import { ApiError } from './errors.js';
import type { JsonObject, KubeObject } from './types.js';

/** Media type of Kubernetes protobuf bodies. */
export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

class UnsupportedKind extends Error {
  constructor(readonly kind: string) {
    super(`unsupported protobuf kind ${kind}`);
  }
}

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

function map(f: Field[], no: number, bytes = false): Record<string, string> | undefined {
  const entries = f.filter((e) => e.no === no && e.wire === 2);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = fields(e.value as Buffer);
    const v = kv.find((x) => x.no === 2 && x.wire === 2);
    // `bytes` values (Secret data, ConfigMap binaryData) are base64 in the JSON form.
    out[str(kv, 1) ?? ''] =
      v === undefined
        ? ''
        : bytes
          ? (v.value as Buffer).toString('base64')
          : (v.value as Buffer).toString('utf8');
  }
  return out;
}

function bool(f: Field[], no: number): boolean | undefined {
  const x = f.find((e) => e.no === no && e.wire === 0);
  return x === undefined ? undefined : x.value !== 0n;
}

/** Kinds whose protobuf body is decoded completely (what kubectl's generators and Helm's release storage send). */
const PROTOBUF_KINDS = new Set([
  'Namespace',
  'ConfigMap',
  'Secret',
  'ServiceAccount',
  'Service',
  'DeleteOptions',
]);

function int(f: Field[], no: number): number | undefined {
  const x = f.find((e) => e.no === no && e.wire === 0);
  return x === undefined ? undefined : Number(BigInt.asIntN(64, x.value as bigint));
}

function strings(f: Field[], no: number): string[] | undefined {
  const xs = f.filter((e) => e.no === no && e.wire === 2).map((e) => (e.value as Buffer).toString('utf8'));
  return xs.length === 0 ? undefined : xs;
}

/** The ServiceSpec fields `kubectl create service` sets, and the scalar ones a client may add. */
function serviceSpec(f: Field[]): JsonObject {
  const spec: JsonObject = {};
  const ports = f
    .filter((e) => e.no === 1 && e.wire === 2)
    .map((e) => {
      const pf = fields(e.value as Buffer);
      const p: JsonObject = {};
      const name = str(pf, 1);
      const protocol = str(pf, 2);
      const port = int(pf, 3);
      if (name) p.name = name;
      if (protocol) p.protocol = protocol;
      if (port !== undefined) p.port = port;
      const tp = pf.find((x) => x.no === 4 && x.wire === 2);
      if (tp !== undefined) {
        // IntOrString: type 0 = intVal (field 2), 1 = strVal (field 3).
        const t = fields(tp.value as Buffer);
        p.targetPort = int(t, 1) === 1 ? (str(t, 3) ?? '') : (int(t, 2) ?? 0);
      }
      const nodePort = int(pf, 5);
      if (nodePort) p.nodePort = nodePort;
      const appProtocol = str(pf, 6);
      if (appProtocol) p.appProtocol = appProtocol;
      return p;
    });
  if (ports.length > 0) spec.ports = ports;
  const selector = map(f, 2);
  if (selector !== undefined) spec.selector = selector;
  for (const [no, key] of [
    [3, 'clusterIP'],
    [4, 'type'],
    [7, 'sessionAffinity'],
    [10, 'externalName'],
    [11, 'externalTrafficPolicy'],
    [17, 'ipFamilyPolicy'],
    [22, 'internalTrafficPolicy'],
  ] as const) {
    const v = str(f, no);
    if (v) spec[key] = v;
  }
  for (const [no, key] of [
    [5, 'externalIPs'],
    [18, 'clusterIPs'],
    [19, 'ipFamilies'],
  ] as const) {
    const v = strings(f, no);
    if (v !== undefined) spec[key] = v;
  }
  return spec;
}

/** A DeleteOptions body (client-go's typed Delete sends one in protobuf). */
function deleteOptions(tm: Field[], f: Field[]): KubeObject {
  const o: JsonObject = { apiVersion: str(tm, 1) || 'v1', kind: 'DeleteOptions' };
  const grace = f.find((e) => e.no === 1 && e.wire === 0);
  if (grace !== undefined) o.gracePeriodSeconds = Number(BigInt.asIntN(64, grace.value as bigint));
  const pre = f.find((e) => e.no === 2 && e.wire === 2);
  if (pre !== undefined) {
    const pf = fields(pre.value as Buffer);
    const p: JsonObject = {};
    const uid = str(pf, 1);
    const rv = str(pf, 2);
    if (uid !== undefined) p.uid = uid;
    if (rv !== undefined) p.resourceVersion = rv;
    o.preconditions = p;
  }
  const orphan = bool(f, 3);
  if (orphan !== undefined) o.orphanDependents = orphan;
  const policy = str(f, 4);
  if (policy !== undefined) o.propagationPolicy = policy;
  const dry = f.filter((e) => e.no === 5 && e.wire === 2).map((e) => (e.value as Buffer).toString('utf8'));
  if (dry.length > 0) o.dryRun = dry;
  return o as unknown as KubeObject;
}

/**
 * Decodes the protobuf bodies kubectl's typed `create` generators and Helm's release storage send
 * (Namespace, ConfigMap, Secret, ServiceAccount, Service, DeleteOptions): type meta, the user-settable ObjectMeta fields
 * (with `uid` and `resourceVersion` for updates) and the kinds' data fields. Any other kind is a
 * 415, so no field is silently lost: such clients must send JSON.
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
    const uid = str(mf, 5);
    const resourceVersion = str(mf, 6);
    if (uid) metadata.uid = uid;
    if (resourceVersion) metadata.resourceVersion = resourceVersion;
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
    if (kind === undefined || !PROTOBUF_KINDS.has(kind)) throw new UnsupportedKind(kind ?? '');
    if (kind === 'DeleteOptions') return deleteOptions(tm, obj);
    const o = out as unknown as JsonObject;
    if (kind === 'ConfigMap') {
      const data = map(obj, 2);
      const binaryData = map(obj, 3, true);
      const immutable = bool(obj, 4);
      if (data !== undefined) o.data = data;
      if (binaryData !== undefined) o.binaryData = binaryData;
      if (immutable !== undefined) o.immutable = immutable;
    } else if (kind === 'Secret') {
      const data = map(obj, 2, true);
      const type = str(obj, 3);
      const stringData = map(obj, 4);
      const immutable = bool(obj, 5);
      if (data !== undefined) o.data = data;
      if (type) o.type = type;
      if (stringData !== undefined) o.stringData = stringData;
      if (immutable !== undefined) o.immutable = immutable;
    } else if (kind === 'Service') {
      const spec = obj.find((e) => e.no === 2 && e.wire === 2);
      if (spec !== undefined) o.spec = serviceSpec(fields(spec.value as Buffer));
    } else if (kind === 'ServiceAccount') {
      const automount = bool(obj, 4);
      if (automount !== undefined) o.automountServiceAccountToken = automount;
    }
    return out;
  } catch (e) {
    if (e instanceof UnsupportedKind)
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `protobuf bodies are decoded for ${[...PROTOBUF_KINDS].join(', ')} only, not "${e.kind}": send application/json`,
      );
    throw ApiError.badRequest(`unable to decode protobuf body: ${(e as Error).message}`);
  }
}
