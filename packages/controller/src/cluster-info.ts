// EgressClusterInfo detection: the in-cluster destinations (node addresses, pod CIDRs, the service
// range, extra CIDRs) that a policy without destSubnet must never send through an EIP. Upstream's
// controller fills `EgressClusterInfo/default` the same way; the sources differ (see
// docs/architecture.md): pod CIDRs come from Node `spec.podCIDRs` or Calico IPPools, the service
// range from the ServiceCIDR API. A source that is not there is reported, never guessed.
import { CLUSTER_INFO_NAME, type EgressClusterInfo } from '@egressgateway/crds';
import {
  Coalescer,
  EGRESS_CLUSTER_INFOS,
  type EventRecorder,
  type KubeClient,
  type Logger,
  type ResourceRef,
} from '@egressgateway/kube';
import type { NodeView } from './nodes.js';

/** Calico's IPPool collection (crd.projectcalico.org/v1). */
export const CALICO_IPPOOLS: ResourceRef = {
  group: 'crd.projectcalico.org',
  version: 'v1',
  plural: 'ippools',
  kind: 'IPPool',
  namespaced: false,
};

/** The ServiceCIDR collection (networking.k8s.io/v1, Kubernetes 1.33+). */
export const SERVICE_CIDRS: ResourceRef = {
  group: 'networking.k8s.io',
  version: 'v1',
  plural: 'servicecidrs',
  kind: 'ServiceCIDR',
  namespaced: false,
};

/** The spec upstream's chart and CRD default to: detect everything, pod CIDRs in `auto` mode. */
export const DEFAULT_CLUSTER_INFO_SPEC = {
  autoDetect: { podCidrMode: 'auto', clusterIP: true, nodeIP: true },
  extraCidr: [] as string[],
} as const;

type IpLists = { ipv4?: string[]; ipv6?: string[] };
type Status = NonNullable<EgressClusterInfo['status']>;

/** One Calico IPPool as detection reads it. */
export interface CalicoPool {
  name: string;
  cidr: string;
}

/** What detection reads; `undefined` for an API the cluster does not serve. */
export interface ClusterInfoSources {
  spec: EgressClusterInfo['spec'];
  nodes: readonly NodeView[];
  /** Calico IPPools, or undefined when the IPPool API is absent. */
  calicoPools: readonly CalicoPool[] | undefined;
  /** Service CIDRs, or undefined when the ServiceCIDR API is absent. */
  serviceCidrs: readonly string[] | undefined;
}

/** A source detection needed and did not find. */
export interface MissingSource {
  /** `serviceCIDR`, `calicoIPPools` or `podCIDRs`. */
  source: string;
  message: string;
}

/** The status to write and what could not be detected. */
export interface DetectedClusterInfo {
  status: Status;
  missing: MissingSource[];
}

const split = (addrs: Iterable<string>): IpLists => {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const a of addrs) (a.includes(':') ? ipv6 : ipv4).push(a);
  const out: IpLists = {};
  if (ipv4.length > 0) out.ipv4 = [...new Set(ipv4)].sort();
  if (ipv6.length > 0) out.ipv6 = [...new Set(ipv6)].sort();
  return out;
};

/**
 * Computes the EgressClusterInfo status from its spec and the cluster's sources (pure).
 * `podCidrMode` `auto` uses Calico's IPPools when that API exists, else the Nodes' `spec.podCIDRs`;
 * `k8s` and `calico` force one source; `""` detects no pod CIDR. Missing sources are listed in
 * `missing` and left out of the status.
 *
 * @example
 * detectClusterInfo({ spec: {}, nodes: [], calicoPools: undefined, serviceCidrs: ['10.96.0.0/12'] })
 *   .status.clusterIP; // { ipv4: ['10.96.0.0/12'] }
 */
export function detectClusterInfo(src: ClusterInfoSources): DetectedClusterInfo {
  const auto = { ...DEFAULT_CLUSTER_INFO_SPEC.autoDetect, ...(src.spec?.autoDetect ?? {}) };
  const missing: MissingSource[] = [];
  const status: Status = {};
  const mode = auto.podCidrMode === 'auto' ? (src.calicoPools ? 'calico' : 'k8s') : auto.podCidrMode;
  status.podCidrMode = mode;
  if (mode === 'calico') {
    if (!src.calicoPools)
      missing.push({
        source: 'calicoIPPools',
        message: 'podCidrMode is calico but the cluster serves no crd.projectcalico.org/v1 IPPool API',
      });
    else {
      const byPool: Record<string, IpLists> = {};
      for (const p of src.calicoPools) if (p.cidr) byPool[p.name] = split([p.cidr]);
      status.podCIDR = byPool;
    }
  } else if (mode === 'k8s') {
    const cidrs = src.nodes.flatMap((n) => n.spec?.podCIDRs ?? []);
    if (cidrs.length === 0 && src.nodes.length > 0)
      missing.push({
        source: 'podCIDRs',
        message: 'podCidrMode is k8s but no Node has spec.podCIDRs (the controller manager allocates none)',
      });
    if (cidrs.length > 0) status.podCIDR = { k8s: split(cidrs) };
  }
  if (auto.nodeIP) {
    const nodeIP: Record<string, IpLists> = {};
    for (const n of src.nodes) {
      const name = n.metadata?.name;
      const addrs = (n.status?.addresses ?? []).map((a) => a.address);
      if (name && addrs.length > 0) nodeIP[name] = split(addrs);
    }
    status.nodeIP = nodeIP;
  }
  if (auto.clusterIP) {
    if (src.serviceCidrs === undefined)
      missing.push({
        source: 'serviceCIDR',
        message:
          'the cluster serves no networking.k8s.io/v1 ServiceCIDR API, so the service range is unknown: list it in spec.extraCidr',
      });
    else status.clusterIP = split(src.serviceCidrs);
  }
  const extra = src.spec?.extraCidr ?? [];
  if (extra.length > 0) status.extraCidr = [...extra];
  return { status, missing };
}

/** JSON with sorted keys: equal for equal statuses whatever the key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** What {@link ClusterInfoSync} needs. */
export interface ClusterInfoSyncOptions {
  client: KubeClient;
  log: Logger;
  events?: EventRecorder | undefined;
  /** The cached Nodes. */
  nodes: () => readonly NodeView[];
  /** The cached `EgressClusterInfo/default`, if any. */
  current: () => EgressClusterInfo | undefined;
  /** Re-detection period while leading, for sources that are listed rather than watched (Calico
   * IPPools, ServiceCIDRs); default 60 s. */
  resyncMs?: number | undefined;
}

/**
 * Keeps `EgressClusterInfo/default` created and its status current, leader only: {@link trigger}
 * on every change of Nodes or of the object, and every `resyncMs` for the listed sources
 * (coalesced, one run at a time); each run creates the
 * object if missing, reads the Calico IPPools and ServiceCIDRs, and patches the status only when
 * it differs. A missing source gives one Warning event per change of what is missing.
 */
export class ClusterInfoSync {
  private signal: AbortSignal | undefined;
  private lastMissing = '';
  private readonly runner: Coalescer;

  constructor(private readonly o: ClusterInfoSyncOptions) {
    this.runner = new Coalescer(() => this.run(), {
      onError: (err) => o.log.warn({ err }, 'cluster info write failed'),
    });
  }

  /** Starts writing for a leadership term; nothing is written once `signal` aborts. */
  lead(signal: AbortSignal): void {
    this.signal = signal;
    this.lastMissing = '';
    this.trigger();
    const timer = setInterval(() => this.trigger(), this.o.resyncMs ?? 60_000);
    timer.unref?.();
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }

  /** Asks for a run (ignored when not leading). */
  trigger(): void {
    if (this.signal && !this.signal.aborted) this.runner.trigger();
  }

  /** Resolves when no run is in progress or queued. */
  whenIdle(): Promise<void> {
    return this.runner.whenIdle();
  }

  private async optionalList<T>(ref: ResourceRef): Promise<T[] | undefined> {
    try {
      return (await this.o.client.list<T & { metadata?: object }>(ref)).items as T[];
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  }

  private async run(): Promise<void> {
    const signal = this.signal;
    if (!signal || signal.aborted) return;
    const { client, log } = this.o;
    let info = this.o.current();
    if (!info) {
      try {
        info = await client.create<EgressClusterInfo & { metadata: { name: string } }>(EGRESS_CLUSTER_INFOS, {
          metadata: { name: CLUSTER_INFO_NAME },
          spec: structuredClone(DEFAULT_CLUSTER_INFO_SPEC) as EgressClusterInfo['spec'],
        } as EgressClusterInfo & { metadata: { name: string } });
        log.info({ name: CLUSTER_INFO_NAME }, 'cluster info created');
      } catch (err) {
        if ((err as { status?: number }).status !== 409) throw err;
        info = await client.get<EgressClusterInfo & { metadata: { name: string } }>(
          EGRESS_CLUSTER_INFOS,
          CLUSTER_INFO_NAME,
        );
      }
    }
    const pools = await this.optionalList<{ metadata?: { name?: string }; spec?: { cidr?: string } }>(
      CALICO_IPPOOLS,
    );
    const cidrs = await this.optionalList<{ spec?: { cidrs?: string[] } }>(SERVICE_CIDRS);
    const detected = detectClusterInfo({
      spec: info.spec,
      nodes: this.o.nodes(),
      calicoPools: pools?.map((p) => ({ name: p.metadata?.name ?? '', cidr: p.spec?.cidr ?? '' })),
      serviceCidrs: cidrs?.flatMap((c) => c.spec?.cidrs ?? []),
    });
    if (signal.aborted) return;
    const missingKey = canonical(detected.missing);
    if (missingKey !== this.lastMissing) {
      this.lastMissing = missingKey;
      for (const m of detected.missing) {
        log.warn({ source: m.source }, 'cluster info source missing');
        this.o.events?.record({
          type: 'Warning',
          reason: 'ClusterInfoSourceMissing',
          message: m.message,
          involvedObject: {
            kind: 'EgressClusterInfo',
            name: CLUSTER_INFO_NAME,
            apiVersion: 'egressgateway.spidernet.io/v1beta1',
          },
        });
      }
    }
    if (canonical(info.status ?? {}) === canonical(detected.status)) return;
    // A merge patch would keep keys of nodes that left: send null for every key to drop.
    const patch: Record<string, unknown> = { ...detected.status };
    for (const key of ['nodeIP', 'podCIDR'] as const) {
      const next = (detected.status[key] ?? {}) as Record<string, unknown>;
      const gone = Object.keys(info.status?.[key] ?? {}).filter((k) => !(k in next));
      if (gone.length > 0) patch[key] = { ...next, ...Object.fromEntries(gone.map((k) => [k, null])) };
    }
    for (const key of ['clusterIP', 'extraCidr', 'podCIDR', 'nodeIP'] as const)
      if (info.status?.[key] !== undefined && detected.status[key] === undefined) patch[key] = null;
    await client.patchStatus(EGRESS_CLUSTER_INFOS, CLUSTER_INFO_NAME, undefined, { status: patch });
    log.info({ podCidrMode: detected.status.podCidrMode }, 'cluster info status written');
  }
}
