import { ApiError } from './errors.js';
import type { ResourceInfo } from './resources.js';
import { isJsonObject, type JsonObject, type JsonValue, type KubeObject } from './types.js';

/**
 * Where Service cluster IPs come from: a /20 at the top of 198.18.0.0/15's lower half, clear of the
 * netns lab's node (198.18.0.x, 198.18.1.x), VRRP (198.18.128.x) and pod (198.19.0.0/16) addresses.
 */
export const SERVICE_CIDR = '198.18.240.0/20';

/** What a default needs to know besides the object: the stored one (update) and taken cluster IPs. */
export interface DefaultsContext {
  existing: KubeObject | undefined;
  /** Cluster IPs of the stored Services (allocation avoids them). */
  usedClusterIps: () => Set<string>;
}

const obj = (v: JsonValue | undefined): JsonObject | undefined => (isJsonObject(v) ? v : undefined);

/**
 * Defaults and checks of built-in kinds that clients read back or rely on, as kube-apiserver
 * applies them on create and update (a subset: what Helm, kubectl and our apps touch). Mutates
 * and returns `o`; throws the real server's error for what it refuses.
 */
export function applyBuiltinDefaults(info: ResourceInfo, o: KubeObject, ctx: DefaultsContext): KubeObject {
  if (info.custom) return o;
  switch (`${info.group}/${info.resource}`) {
    case '/secrets':
      return secretDefaults(o, ctx);
    case '/services':
      return serviceDefaults(o, ctx);
    case 'apps/deployments':
      return deploymentDefaults(o);
    case 'apps/daemonsets':
      return daemonSetDefaults(o);
    default:
      return o;
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function secretDefaults(o: KubeObject, ctx: DefaultsContext): KubeObject {
  const s = o as unknown as JsonObject;
  const data = { ...(obj(s.data) ?? {}) };
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v))
      throw ApiError.badRequest(
        `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${k}`,
      );
  }
  // stringData is write-only: merged into data (it wins) and never stored.
  for (const [k, v] of Object.entries(obj(s.stringData) ?? {}))
    data[k] = Buffer.from(typeof v === 'string' ? v : String(v), 'utf8').toString('base64');
  delete s.stringData;
  if (Object.keys(data).length > 0 || s.data !== undefined) s.data = data;
  if (s.type === undefined || s.type === '') s.type = 'Opaque';
  const before = ctx.existing as unknown as JsonObject | undefined;
  if (before !== undefined && before.type !== s.type)
    throw ApiError.invalid('', 'Secret', o.metadata.name ?? '', [
      { reason: 'FieldValueInvalid', message: 'Invalid value: field is immutable', field: 'type' },
    ]);
  return o;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function allocateClusterIp(used: Set<string>): string {
  const [base = '', bits = '16'] = SERVICE_CIDR.split('/');
  const start = ipv4ToInt(base);
  const size = 2 ** (32 - Number(bits));
  // .0 is the network, .1 the apiserver's own Service on a real cluster; the last is broadcast.
  for (let i = 10; i < size - 1; i++) {
    const ip = intToIpv4(start + i);
    if (!used.has(ip)) return ip;
  }
  throw new ApiError(500, 'InternalError', `the service CIDR ${SERVICE_CIDR} is exhausted`);
}

function serviceDefaults(o: KubeObject, ctx: DefaultsContext): KubeObject {
  const spec = obj((o as unknown as JsonObject).spec) ?? {};
  (o as unknown as JsonObject).spec = spec;
  if (spec.type === undefined) spec.type = 'ClusterIP';
  if (spec.sessionAffinity === undefined) spec.sessionAffinity = 'None';
  const before = obj((ctx.existing as unknown as JsonObject | undefined)?.spec);
  const kept = before?.clusterIP;
  if (spec.clusterIP === undefined || spec.clusterIP === '') {
    spec.clusterIP = typeof kept === 'string' ? kept : allocateClusterIp(ctx.usedClusterIps());
  } else if (typeof kept === 'string' && spec.clusterIP !== kept) {
    throw ApiError.invalid('', 'Service', o.metadata.name ?? '', [
      { reason: 'FieldValueInvalid', message: 'Invalid value: field is immutable', field: 'spec.clusterIP' },
    ]);
  } else if (
    before === undefined &&
    spec.clusterIP !== 'None' &&
    ctx.usedClusterIps().has(String(spec.clusterIP))
  ) {
    throw ApiError.invalid('', 'Service', o.metadata.name ?? '', [
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${String(spec.clusterIP)}": provided IP is already allocated`,
        field: 'spec.clusterIPs',
      },
    ]);
  }
  spec.clusterIPs = [spec.clusterIP];
  if (spec.clusterIP !== 'None') {
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  spec.internalTrafficPolicy ??= 'Cluster';
  if (Array.isArray(spec.ports))
    for (const p of spec.ports) {
      if (!isJsonObject(p)) continue;
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined && p.port !== undefined) p.targetPort = p.port;
    }
  return o;
}

function podTemplateDefaults(spec: JsonObject | undefined): void {
  const pod = obj(obj(spec?.template)?.spec);
  if (pod === undefined) return;
  pod.restartPolicy ??= 'Always';
  pod.terminationGracePeriodSeconds ??= 30;
  pod.dnsPolicy ??= 'ClusterFirst';
  pod.schedulerName ??= 'default-scheduler';
  pod.securityContext ??= {};
  if (Array.isArray(pod.containers))
    for (const c of pod.containers) {
      if (!isJsonObject(c)) continue;
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      if (c.imagePullPolicy === undefined) {
        const image = String(c.image ?? '');
        const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
        c.imagePullPolicy = tagged || image.includes('@') ? 'IfNotPresent' : 'Always';
      }
    }
}

function deploymentDefaults(o: KubeObject): KubeObject {
  const spec = obj((o as unknown as JsonObject).spec);
  if (spec === undefined) return o;
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
  podTemplateDefaults(spec);
  return o;
}

function daemonSetDefaults(o: KubeObject): KubeObject {
  const spec = obj((o as unknown as JsonObject).spec);
  if (spec === undefined) return o;
  spec.revisionHistoryLimit ??= 10;
  spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
  podTemplateDefaults(spec);
  return o;
}
