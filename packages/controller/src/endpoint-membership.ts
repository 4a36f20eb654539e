// Which pods each policy selects, kept incrementally: a pod event touches only the policies whose
// selection of that pod changed; a policy or namespace-label change rescans the pods once. The
// endpoint slice sync writes the result; this file does no I/O.
import type { EgressEndpoint } from '@egressgateway/crds';
import type { PodView } from '@egressgateway/kube';
import { compileSelector, type LabelSelectorLike, parseIp } from '@egressgateway/netaddr';

/** A Pod as the controller caches it for endpoint slices: `@egressgateway/kube`'s view. */
export type { PodView } from '@egressgateway/kube';

/**
 * The endpoint of a pod, or `undefined` when it has none: host-network pods (their address is the
 * node's), pods that ran to completion (their addresses are released and may be reused) and pods
 * without an address yet. Addresses are split by family and sorted.
 */
export function endpointOf(pod: PodView): EgressEndpoint | undefined {
  if (pod.spec?.hostNetwork) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const ips = (pod.status?.podIPs ?? []).map((x) => x.ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const ip of new Set(ips)) {
    const parsed = parseIp(ip);
    if (!parsed.ok) continue;
    (parsed.value.family === 4 ? ipv4 : ipv6).push(ip);
  }
  if (ipv4.length === 0 && ipv6.length === 0) return undefined;
  return {
    ns: pod.metadata?.namespace ?? '',
    pod: pod.metadata?.name ?? '',
    ...(ipv4.length > 0 ? { ipv4: ipv4.sort() } : {}),
    ...(ipv6.length > 0 ? { ipv6: ipv6.sort() } : {}),
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
  };
}

/** True when two endpoints say the same (same pod, node and addresses). */
export function sameEndpoint(a: EgressEndpoint, b: EgressEndpoint): boolean {
  const list = (l: readonly string[] | undefined) => (l ?? []).join(',');
  return (
    a.ns === b.ns &&
    a.pod === b.pod &&
    (a.node ?? '') === (b.node ?? '') &&
    list(a.ipv4) === list(b.ipv4) &&
    list(a.ipv6) === list(b.ipv6)
  );
}

/** `namespace/name` of a pod or endpoint. */
export const podKey = (namespace: string | undefined, name: string | undefined) =>
  `${namespace ?? ''}/${name ?? ''}`;

/** What membership reads from a policy (an EgressPolicy has a namespace, a cluster policy none). */
export interface PolicySelection {
  /** The policy's namespace (EgressPolicy), undefined for an EgressClusterPolicy. */
  namespace?: string | undefined;
  podSelector?: LabelSelectorLike | undefined;
  /** EgressClusterPolicy only. */
  namespaceSelector?: LabelSelectorLike | undefined;
}

interface CompiledPolicy {
  namespace: string | undefined;
  matchLabels: Record<string, string> | undefined;
  matchesPod: (labels: Record<string, string> | undefined) => boolean;
  matchesNamespace: ((labels: Record<string, string> | undefined) => boolean) | undefined;
  members: Map<string, EgressEndpoint>;
}

function compile(sel: PolicySelection): CompiledPolicy {
  const none = () => false;
  // A policy by podSubnet (no podSelector) selects no pod; a selector the API server would refuse
  // selects none either (the engine and admission report it), as the agents always did.
  const pods = sel.podSelector ? compileSelector(sel.podSelector) : undefined;
  const nss = sel.namespaceSelector ? compileSelector(sel.namespaceSelector) : undefined;
  let matchesPod: CompiledPolicy['matchesPod'] = none;
  if (pods?.ok && (nss === undefined || nss.ok)) {
    const matcher = pods.value;
    matchesPod = (l) => matcher.matches(l);
  }
  return {
    namespace: sel.namespace,
    matchLabels: (sel.podSelector as { matchLabels?: Record<string, string> } | undefined)?.matchLabels,
    matchesPod,
    matchesNamespace: nss?.ok ? (l) => nss.value.matches(l) : undefined,
    members: new Map(),
  };
}

/**
 * The pods every policy selects, as endpoints, updated incrementally. Keys of policies are the
 * caller's (`namespace/name` for EgressPolicies, `name` for cluster policies); each mutation
 * returns the keys of the policies whose endpoint set changed, the ones to write.
 *
 * @example
 * const m = new PolicyMembership();
 * m.setPolicy('default/p', { namespace: 'default', podSelector: { matchLabels: { app: 'web' } } });
 * m.upsertPod(pod); // Set { 'default/p' } when the pod is selected and has an address
 * m.members('default/p'); // its endpoints, by pod key
 */
export class PolicyMembership {
  private readonly policies = new Map<string, CompiledPolicy>();
  private readonly pods = new Map<string, PodView>();
  /** Pod keys by `label=value`: a policy's scan looks only at the pods with its rarest pair. */
  private readonly byLabel = new Map<string, Set<string>>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();

  /** Number of pods known. */
  get podCount(): number {
    return this.pods.size;
  }

  /** The endpoints of one policy, by pod key (empty for an unknown policy). */
  members(policy: string): ReadonlyMap<string, EgressEndpoint> {
    return this.policies.get(policy)?.members ?? new Map();
  }

  /** True when the policy is known. */
  hasPolicy(policy: string): boolean {
    return this.policies.has(policy);
  }

  /** Keys of every policy known. */
  policyKeys(): string[] {
    return [...this.policies.keys()];
  }

  /** Adds or replaces a policy and recomputes its members from every pod; true when they changed. */
  setPolicy(key: string, sel: PolicySelection): boolean {
    const before = this.policies.get(key)?.members;
    const p = compile(sel);
    for (const k of this.candidates(p)) {
      const pod = this.pods.get(k);
      const ep = pod && this.select(p, pod);
      if (ep) p.members.set(k, ep);
    }
    this.policies.set(key, p);
    return !before || !sameMembers(before, p.members);
  }

  /** Forgets a policy. */
  removePolicy(key: string): void {
    this.policies.delete(key);
  }

  /**
   * Records a namespace's labels (only cluster policies with a namespaceSelector read them);
   * returns the policies whose members changed.
   */
  setNamespaceLabels(namespace: string, labels: Record<string, string> | undefined): Set<string> {
    const changed = new Set<string>();
    const prev = this.namespaceLabels.get(namespace);
    if (labels === undefined) this.namespaceLabels.delete(namespace);
    else this.namespaceLabels.set(namespace, labels);
    if (sameLabels(prev, labels)) return changed;
    for (const [key, p] of this.policies) {
      if (!p.matchesNamespace) continue;
      for (const k of this.candidates(p)) {
        const pod = this.pods.get(k);
        if (!pod || (pod.metadata?.namespace ?? '') !== namespace) continue;
        if (this.apply(p, k, this.select(p, pod))) changed.add(key);
      }
    }
    return changed;
  }

  /** Adds or replaces a pod; returns the policies whose members changed. */
  upsertPod(pod: PodView): Set<string> {
    const k = podKey(pod.metadata?.namespace, pod.metadata?.name);
    this.unindex(k);
    this.pods.set(k, pod);
    for (const [l, v] of Object.entries(pod.metadata?.labels ?? {})) {
      const pair = `${l}=${v}`;
      let set = this.byLabel.get(pair);
      if (!set) {
        set = new Set();
        this.byLabel.set(pair, set);
      }
      set.add(k);
    }
    const changed = new Set<string>();
    for (const [key, p] of this.policies) if (this.apply(p, k, this.select(p, pod))) changed.add(key);
    return changed;
  }

  /** Removes a pod; returns the policies that selected it. */
  deletePod(namespace: string | undefined, name: string | undefined): Set<string> {
    const k = podKey(namespace, name);
    this.unindex(k);
    this.pods.delete(k);
    const changed = new Set<string>();
    for (const [key, p] of this.policies) if (p.members.delete(k)) changed.add(key);
    return changed;
  }

  private unindex(k: string): void {
    for (const [l, v] of Object.entries(this.pods.get(k)?.metadata?.labels ?? {})) {
      const pair = `${l}=${v}`;
      const set = this.byLabel.get(pair);
      set?.delete(k);
      if (set?.size === 0) this.byLabel.delete(pair);
    }
  }

  /** The keys of the pods that may match: those with the selector's rarest matchLabels pair, or all. */
  private candidates(p: CompiledPolicy): Iterable<string> {
    let best: Set<string> | undefined;
    for (const [l, v] of Object.entries(p.matchLabels ?? {})) {
      const set = this.byLabel.get(`${l}=${v}`);
      if (!set) return [];
      if (!best || set.size < best.size) best = set;
    }
    return best ?? this.pods.keys();
  }

  private select(p: CompiledPolicy, pod: PodView): EgressEndpoint | undefined {
    const ns = pod.metadata?.namespace ?? '';
    if (p.namespace !== undefined && ns !== p.namespace) return undefined;
    if (p.matchesNamespace && !p.matchesNamespace(this.namespaceLabels.get(ns))) return undefined;
    if (!p.matchesPod(pod.metadata?.labels)) return undefined;
    return endpointOf(pod);
  }

  /** Sets or clears one member; true when that changed the policy's endpoints. */
  private apply(p: CompiledPolicy, k: string, ep: EgressEndpoint | undefined): boolean {
    const cur = p.members.get(k);
    if (!ep) return p.members.delete(k);
    if (cur && sameEndpoint(cur, ep)) return false;
    p.members.set(k, ep);
    return true;
  }
}

function sameMembers(a: ReadonlyMap<string, EgressEndpoint>, b: ReadonlyMap<string, EgressEndpoint>) {
  if (a.size !== b.size) return false;
  for (const [k, ep] of a) {
    const other = b.get(k);
    if (!other || !sameEndpoint(ep, other)) return false;
  }
  return true;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
