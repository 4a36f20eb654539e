import type {
  EgressClusterInfo,
  EgressClusterPolicy,
  EgressGateway,
  EgressPolicy,
  EgressTunnel,
} from '@egressgateway/crds';
import type {
  MarkRoute,
  NodeDatapathState,
  SnatRule,
  SteeringRule,
  TunnelPeer,
} from '@egressgateway/datapath';
import type { PodView } from '@egressgateway/kube';
import {
  compileSelector,
  familyOf,
  type LabelSelectorLike,
  parseCidr,
  parseIp,
} from '@egressgateway/netaddr';

/** A Pod as far as the agent reads it: `@egressgateway/kube`'s {@link PodView}. */
export type PodLike = PodView;

/**
 * True when an EgressTunnel update changed a field {@link desiredNodeState} reads: the mark, or the
 * tunnel endpoint (`status.tunnel`: MAC, tunnel addresses, parent interface). Heartbeats, the most
 * frequent write of the system, phases and annotations recompute nothing.
 *
 * @example
 * ```ts
 * informers.add(EGRESS_TUNNELS, { notifyWhen: tunnelViewChanged });
 * ```
 */
export function tunnelViewChanged(a: EgressTunnel, b: EgressTunnel): boolean {
  return (
    a.status?.mark !== b.status?.mark ||
    JSON.stringify(a.status?.tunnel ?? {}) !== JSON.stringify(b.status?.tunnel ?? {})
  );
}

/** The tunnel device settings of this node. */
export interface TunnelDeviceSettings {
  name: string;
  vni: number;
  port: number;
  /** Tunnel CIDRs: the prefix length of this node's tunnel address comes from them. */
  ipv4Cidr?: string | undefined;
  ipv6Cidr?: string | undefined;
}

/** Everything the agent knows, from its informers and settings. */
export interface AgentView {
  nodeName: string;
  egressInterface: string;
  tunnel: TunnelDeviceSettings;
  tunnels: readonly EgressTunnel[];
  gateways: readonly EgressGateway[];
  policies: readonly EgressPolicy[];
  clusterPolicies: readonly EgressClusterPolicy[];
  /** This node's pods (the agent watches no other); with no `policyAddresses`, every pod. */
  pods: readonly PodLike[];
  /**
   * The addresses of the pods a policy (`namespace/name` or `name`) selects on every node, from
   * its endpoint slices: the sources a gateway node SNATs. Without it they come from `pods`.
   */
  policyAddresses?: ((policyKey: string) => readonly string[]) | undefined;
  /** Labels per namespace (for EgressClusterPolicy namespaceSelector). */
  namespaceLabels: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** In-cluster destinations never steered. */
  bypassDestinations?: readonly string[];
  /** Self-fenced: hold no EIPs (steering and SNAT stay). */
  fenced: boolean;
}

/** Where a policy's traffic leaves, read from the gateways' `status.nodeList` (the one source of truth). */
export interface Holding {
  node: string;
  ipv4: string;
  ipv6: string;
  /** Every node the policy's gateway lists: the candidates that may hold the EIP next. */
  gatewayNodes: readonly string[];
}

/**
 * In-cluster destinations from the EgressClusterInfo singleton (detected pod CIDRs, service
 * range, node addresses, extra CIDRs): a policy without `destSubnet` must never steer or SNAT
 * traffic to them.
 */
export function clusterBypass(info: EgressClusterInfo | undefined): string[] {
  if (!info) return [];
  const out = new Set<string>();
  const add = (l?: { ipv4?: string[] | undefined; ipv6?: string[] | undefined }) => {
    for (const a of [...(l?.ipv4 ?? []), ...(l?.ipv6 ?? [])]) if (familyOf(a)) out.add(a);
  };
  const s = info.status;
  for (const l of Object.values(s?.podCIDR ?? {})) add(l);
  for (const l of Object.values(s?.nodeIP ?? {})) add(l);
  add(s?.clusterIP);
  for (const c of [...(s?.extraCidr ?? []), ...(info.spec?.extraCidr ?? [])]) if (familyOf(c)) out.add(c);
  return [...out].sort();
}

/** Finds, for every policy listed in a gateway status, the node and EIP that serve it. */
export function holdings(gateways: readonly EgressGateway[]): Map<string, Holding> {
  const out = new Map<string, Holding>();
  for (const g of gateways) {
    const gatewayNodes = (g.status?.nodeList ?? []).map((n) => n.name);
    for (const n of g.status?.nodeList ?? []) {
      for (const e of n.eips ?? []) {
        for (const p of e.policies ?? []) {
          out.set(policyKey(p.namespace, p.name), {
            node: n.name,
            ipv4: e.ipv4 ?? '',
            ipv6: e.ipv6 ?? '',
            gatewayNodes,
          });
        }
      }
    }
  }
  return out;
}

/** `namespace/name` of an EgressPolicy, `name` of an EgressClusterPolicy. */
export function policyKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

const MARK_TABLE_BASE = 1000;
const MARK_TABLE_SLOTS = 1000;

/**
 * Routing tables for peer marks: `1000 + mark mod 1000`, probing upward on collision, assigned in
 * mark order, so a node's table does not change when others come and go (unless they collide).
 */
export function markTables(marks: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  const used = new Set<number>();
  for (const mark of [...new Set(marks)].sort((a, b) => a - b)) {
    let slot = mark % MARK_TABLE_SLOTS;
    while (used.has(slot)) slot = (slot + 1) % MARK_TABLE_SLOTS;
    used.add(slot);
    out.set(mark, MARK_TABLE_BASE + slot);
  }
  return out;
}

/**
 * A pod that ran to completion keeps its `status.podIPs` in the API (a Job's pods linger for days),
 * but the network plugin has released them and may give them to any new pod: they must not match.
 */
function finished(p: PodLike): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

function podIps(p: PodLike): string[] {
  const ips = (p.status?.podIPs ?? []).map((x) => x.ip);
  if (ips.length === 0 && p.status?.podIP) ips.push(p.status.podIP);
  return ips.filter((ip) => parseIp(ip).ok);
}

interface PolicySources {
  all: string[];
  local: string[];
}

/**
 * Pods indexed by `label=value`, so a selector with matchLabels only looks at the pods that carry
 * its rarest label instead of every pod (policies x pods was the agent's hot spot).
 */
class PodIndex {
  private readonly byLabel = new Map<string, PodLike[]>();
  constructor(readonly pods: readonly PodLike[]) {
    for (const pod of pods) {
      if (pod.spec?.hostNetwork) continue;
      for (const [k, v] of Object.entries(pod.metadata?.labels ?? {})) {
        const key = `${k}=${v}`;
        const list = this.byLabel.get(key);
        if (list) list.push(pod);
        else this.byLabel.set(key, [pod]);
      }
    }
  }
  /** Pods that may match: those with the selector's rarest matchLabels pair, or all pods. */
  candidates(selector: { matchLabels?: Record<string, string> | undefined }): readonly PodLike[] {
    let best: readonly PodLike[] | undefined;
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
      const list = this.byLabel.get(`${k}=${v}`) ?? [];
      if (!best || list.length < best.length) best = list;
    }
    return best ?? this.pods;
  }
}

function sourcesOf(
  view: AgentView,
  index: PodIndex,
  p: EgressPolicy | EgressClusterPolicy,
  namespaced: boolean,
  key: string,
): PolicySources {
  const appliedTo = p.spec?.appliedTo;
  const subnets = appliedTo?.podSubnet ?? [];
  if (subnets.length > 0) return { all: [...subnets], local: [...subnets] };
  const selector = appliedTo?.podSelector;
  if (!selector) return { all: [], local: [] };
  const nsSelector = !namespaced
    ? (appliedTo as { namespaceSelector?: object } | undefined)?.namespaceSelector
    : undefined;
  // Kubernetes' rules (@egressgateway/netaddr): a selector the API server would refuse (unknown
  // operator, In without values, bad key) selects no pod, as the controller's engine selects no node;
  // admission reports it on the policy.
  const podMatcher = compileSelector(selector);
  const nsMatcher = nsSelector ? compileSelector(nsSelector as LabelSelectorLike) : undefined;
  if (!podMatcher.ok || (nsMatcher !== undefined && !nsMatcher.ok)) return { all: [], local: [] };
  const all: string[] = [];
  const local: string[] = [];
  for (const pod of index.candidates(selector)) {
    if (pod.spec?.hostNetwork || finished(pod)) continue;
    const ns = pod.metadata?.namespace ?? '';
    if (namespaced && ns !== (p.metadata?.namespace ?? 'default')) continue;
    if (nsMatcher && !nsMatcher.value.matches(view.namespaceLabels[ns])) continue;
    if (!podMatcher.value.matches(pod.metadata?.labels)) continue;
    const ips = podIps(pod);
    all.push(...ips);
    if (pod.spec?.nodeName === view.nodeName) local.push(...ips);
  }
  // The slices lag a pod by the controller's debounce and a write: this node's own pods are SNATed
  // from its pod cache at once, everything else as the slices say.
  if (view.policyAddresses)
    return {
      all: [...new Set([...local, ...view.policyAddresses(key).filter((ip) => parseIp(ip).ok)])].sort(),
      local: local.sort(),
    };
  return { all: all.sort(), local: local.sort() };
}

function prefixOf(cidr: string | undefined, fallback: number): number {
  const c = cidr ? parseCidr(cidr) : undefined;
  return c?.ok ? c.value.prefix : fallback;
}

/**
 * This node's desired datapath, computed from the cluster state (pure). Both the EIPs bound here
 * and the SNAT rules come from the gateways' `status.nodeList`, so they can never disagree:
 * - every node steers its local pods' traffic of a policy to the node holding that policy's EIP
 *   (fwmark of that node -> its routing table -> the VXLAN tunnel);
 * - every node of the policy's gateway SNATs the policy's traffic (from any node) to the EIP,
 *   ready before the EIP moves to it; the holding node also binds the EIP on its egress interface
 *   unless it is fenced or draining; `useNodeIP` policies leave with the node's own address.
 */
export function desiredNodeState(view: AgentView): NodeDatapathState {
  const me = view.tunnels.find((t) => t.metadata?.name === view.nodeName);
  const marks = new Map<string, number>();
  for (const t of view.tunnels) {
    const m = t.status?.mark ? Number.parseInt(t.status.mark, 16) : Number.NaN;
    if (Number.isFinite(m)) marks.set(t.metadata?.name ?? '', m);
  }
  const myParent = me?.status?.tunnel?.parent;
  const peers: TunnelPeer[] = [];
  for (const t of view.tunnels) {
    const name = t.metadata?.name ?? '';
    const s = t.status?.tunnel;
    const underlay = s?.parent?.ipv4 || s?.parent?.ipv6;
    if (name === view.nodeName || !s?.mac || !underlay || (!s.ipv4 && !s.ipv6)) continue;
    peers.push({
      nodeName: name,
      underlay,
      mac: s.mac,
      ...(s.ipv4 ? { ipv4: s.ipv4 } : {}),
      ...(s.ipv6 ? { ipv6: s.ipv6 } : {}),
    });
  }
  peers.sort((a, b) => a.nodeName.localeCompare(b.nodeName));
  const tables = markTables(
    peers.map((p) => marks.get(p.nodeName)).filter((m): m is number => m !== undefined),
  );
  const markRoutes: MarkRoute[] = peers.flatMap((p) => {
    const mark = marks.get(p.nodeName);
    const table = mark === undefined ? undefined : tables.get(mark);
    return mark === undefined || table === undefined ? [] : [{ nodeName: p.nodeName, mark, table }];
  });
  const routable = new Set(markRoutes.map((r) => r.nodeName));

  const held = holdings(view.gateways);
  const index = new PodIndex(view.pods);
  const steering: SteeringRule[] = [];
  const snat: SnatRule[] = [];
  const eips = new Set<string>();
  const policies: Array<[EgressPolicy | EgressClusterPolicy, boolean]> = [
    ...view.policies.map((p) => [p, true] as [EgressPolicy, boolean]),
    ...view.clusterPolicies.map((p) => [p, false] as [EgressClusterPolicy, boolean]),
  ];
  policies.sort(([a], [b]) => (b.spec?.priority ?? 0) - (a.spec?.priority ?? 0));
  for (const [p, namespaced] of policies) {
    const key = policyKey(
      namespaced ? (p.metadata?.namespace ?? 'default') : undefined,
      p.metadata?.name ?? '',
    );
    const h = held.get(key);
    if (!h) continue;
    const sources = sourcesOf(view, index, p, namespaced, key);
    const dest = p.spec?.destSubnet?.length ? p.spec.destSubnet : 'all';
    // Every node of the gateway SNATs the policy's traffic, not only the holder: when the EIP
    // moves, workers may switch their steering a few ms before the new holder sees the same
    // status, and a flow whose first packet left un-NATed would keep the pod's address for life.
    if (h.gatewayNodes.includes(view.nodeName)) {
      const useNodeIP = !h.ipv4 && !h.ipv6;
      for (const [family, eip] of [
        [4, useNodeIP ? myParent?.ipv4 : h.ipv4],
        [6, useNodeIP ? myParent?.ipv6 : h.ipv6],
      ] as const) {
        if (!eip) continue;
        const src = sources.all.filter((s) => familyOf(s) === family);
        const dst = dest === 'all' ? 'all' : dest.filter((d) => familyOf(d) === family);
        if (src.length === 0 || (dst !== 'all' && dst.length === 0)) continue;
        snat.push({ id: key, sources: src, destinations: dst, eip });
      }
    }
    if (h.node !== view.nodeName && sources.local.length > 0 && routable.has(h.node)) {
      const mark = marks.get(h.node);
      if (mark !== undefined) steering.push({ id: key, sources: sources.local, destinations: dest, mark });
    }
  }

  // The EIPs to bind: every address the gateway status places on this node, as a pair.
  if (!view.fenced) {
    for (const g of view.gateways) {
      for (const n of g.status?.nodeList ?? []) {
        if (n.name !== view.nodeName) continue;
        for (const e of n.eips ?? []) {
          if ((e.policies ?? []).length === 0) continue;
          if (e.ipv4) eips.add(e.ipv4);
          if (e.ipv6) eips.add(e.ipv6);
        }
      }
    }
  }

  const state: NodeDatapathState = {
    egressInterface: view.egressInterface,
    markRoutes,
    eips: [...eips].sort(),
    steering,
    snat,
    ...(view.bypassDestinations?.length ? { bypassDestinations: [...view.bypassDestinations] } : {}),
  };
  const t = me?.status?.tunnel;
  const localUnderlay = myParent?.ipv4 || myParent?.ipv6;
  if (t?.mac && localUnderlay && (t.ipv4 || t.ipv6)) {
    return {
      ...state,
      tunnel: {
        name: view.tunnel.name,
        vni: view.tunnel.vni,
        port: view.tunnel.port,
        localUnderlay,
        mac: t.mac,
        ...(t.ipv4 ? { ipv4: `${t.ipv4}/${prefixOf(view.tunnel.ipv4Cidr, 24)}` } : {}),
        ...(t.ipv6 ? { ipv6: `${t.ipv6}/${prefixOf(view.tunnel.ipv6Cidr, 64)}` } : {}),
        peers,
      },
    };
  }
  // Without its own tunnel there is nowhere to route marks to.
  return { ...state, markRoutes: [], steering: [] };
}
