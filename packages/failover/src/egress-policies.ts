import {
  eipAt,
  type GatewayModel,
  type ProblemSink,
  type ResolvedEip,
  resolvePair,
} from './egress-gateways.js';
import type { EgressEvent, EgressPolicyLike, EgressState, EipPair } from './egress-types.js';
import { factsOf, type PolicyFacts } from './policy-facts.js';
import { statusIndexOf } from './status-index.js';

/** Namespace label naming a namespace's default gateway. */
export const NAMESPACE_DEFAULT_GATEWAY_LABEL = 'spidernet.io/egressgateway-default';

/** A policy after gateway and EIP resolution. */
export interface ResolvedPolicy {
  readonly kind: 'EgressPolicy' | 'EgressClusterPolicy';
  /** `''` for EgressClusterPolicy. */
  readonly namespace: string;
  readonly name: string;
  readonly policy: EgressPolicyLike;
  readonly facts: PolicyFacts;
  gateway: string | null;
  /** Placement unit: `eip:<ipv4>|<ipv6>` or `node:<kind>/<namespace>/<name>` (useNodeIP); `null` when unresolvable. */
  unit: string | null;
  eip: ResolvedEip | null;
  useNodeIP: boolean;
  /** Internal: the gateway model and the pair asked for while claims are settled. */
  model: GatewayModel | null;
  want: ResolvedEip | null;
}

function newResolved(kind: ResolvedPolicy['kind'], policy: EgressPolicyLike): ResolvedPolicy {
  const facts = factsOf(policy);
  return {
    facts,
    kind,
    namespace: kind === 'EgressPolicy' ? facts.namespace : '',
    name: facts.name,
    policy,
    gateway: null,
    unit: null,
    eip: null,
    useNodeIP: false,
    model: null,
    want: null,
  };
}

/** Stable policy key; the namespace is empty for cluster policies, as in the gateway status. */
export function policyKey(
  kind: 'EgressPolicy' | 'EgressClusterPolicy',
  namespace: string,
  name: string,
): string {
  return `${kind}/${namespace}/${name}`;
}

/** Key of a resolved policy, for messages. */
export function keyOf(r: ResolvedPolicy): string {
  return policyKey(r.kind, r.namespace, r.name);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Who holds an address: one pair of one gateway, and how many policies use that pair. */
interface Claim {
  readonly gw: string;
  readonly eip: ResolvedEip;
  users: number;
}

/**
 * Address claims across all gateways: an address belongs to one EIP pair of one gateway, so overlapping
 * pools or mismatched pairs can never put one address on two nodes.
 */
class Claims {
  private readonly owner = new Map<string, Claim>();

  /** Whether `eip` of gateway `gw` collides with an address already held by a different pair. */
  conflicts(gw: string, eip: ResolvedEip): boolean {
    return this.blocked(gw, eip, eip.ipv4) || this.blocked(gw, eip, eip.ipv6);
  }

  private blocked(gw: string, eip: ResolvedEip, address: string): boolean {
    if (address === '') return false;
    const o = this.owner.get(address);
    return o !== undefined && (o.gw !== gw || o.eip.unit !== eip.unit);
  }

  take(gw: string, eip: ResolvedEip): void {
    const existing = this.owner.get(eip.ipv4 || eip.ipv6);
    if (existing !== undefined && existing.gw === gw && existing.eip.unit === eip.unit) {
      existing.users++;
      return;
    }
    const claim: Claim = { gw, eip, users: 1 };
    if (eip.ipv4 !== '') this.owner.set(eip.ipv4, claim);
    if (eip.ipv6 !== '') this.owner.set(eip.ipv6, claim);
  }

  isFree(eip: EipPair): boolean {
    return (eip.ipv4 === '' || !this.owner.has(eip.ipv4)) && (eip.ipv6 === '' || !this.owner.has(eip.ipv6));
  }

  users(gw: string, eip: ResolvedEip): number {
    const o = this.owner.get(eip.ipv4 || eip.ipv6);
    return o !== undefined && o.gw === gw && o.eip.unit === eip.unit ? o.users : 0;
  }
}

const same = (a: EipPair, b: EipPair) => a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6;

/**
 * Resolves every policy to its gateway and placement unit.
 *
 * EIP choice, in order: an explicit `spec.egressIP.ipv4/ipv6`; the EIP the policy already has (gateway
 * status, then policy status) while it is still in the pool (allocation is sticky); the gateway's
 * default EIP (`allocatorPolicy: default`); for `rr`, the first pool position whose addresses nobody
 * uses (when all are used, the pair with the fewest policies). Policies that keep their written EIP
 * claim addresses first, so a new policy can never take an address from a running one.
 */
export function resolvePolicies(
  state: EgressState,
  gateways: ReadonlyMap<string, GatewayModel>,
  report: ProblemSink,
): ResolvedPolicy[] {
  const clusterDefault =
    [...gateways.values()].find((g) => g.gateway.spec?.clusterDefault === true)?.name ?? null;
  const all: ResolvedPolicy[] = [];
  for (const p of state.clusterPolicies) all.push(newResolved('EgressClusterPolicy', p));
  for (const p of state.policies) all.push(newResolved('EgressPolicy', p));
  all.sort((a, b) => cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name));

  const resolved: ResolvedPolicy[] = [];
  const keeping: ResolvedPolicy[] = [];
  const fresh: ResolvedPolicy[] = [];
  const roundRobin: ResolvedPolicy[] = [];
  let prev: ResolvedPolicy | undefined;
  for (const r of all) {
    const { kind, namespace, name, facts: f } = r;
    // Nameless objects are skipped; duplicates are adjacent after sorting: keep the first.
    if (name === '') continue;
    if (prev !== undefined && prev.kind === kind && prev.namespace === namespace && prev.name === name)
      continue;
    prev = r;
    const gwName = gatewayNameOf(kind, namespace, f, state, clusterDefault);
    const gw = gwName === null ? undefined : gateways.get(gwName);
    const useNodeIP = f.useNodeIP;
    r.gateway = gw === undefined ? null : gw.name;
    r.useNodeIP = useNodeIP;
    resolved.push(r);
    if (gwName === null) {
      problem(report, r, 'NoGateway', 'spec.egressGatewayName is empty and there is no default gateway');
      continue;
    }
    if (gw === undefined) {
      problem(report, r, 'GatewayNotFound', `spec.egressGatewayName: gateway ${gwName} does not exist`);
      continue;
    }
    const { ipv4, ipv6 } = f;
    if (useNodeIP) {
      if (ipv4 !== '' || ipv6 !== '') {
        problem(
          report,
          r,
          'UseNodeIPWithEIP',
          'spec.egressIP: useNodeIP excludes ipv4/ipv6; the node IP is used',
        );
      }
      r.unit = `node:${keyOf(r)}`;
      continue;
    }
    // Where the gateway's written status puts the policy (the one source of truth), if anywhere.
    const cur = statusIndexOf(gw).policies.get(namespace)?.get(name);
    let want: ResolvedEip | null;
    if (ipv4 !== '' || ipv6 !== '') {
      const found = resolvePair(gw, ipv4, ipv6);
      if (typeof found === 'string') {
        problem(report, r, 'EIPNotInPool', `spec.egressIP: ${found}`);
        continue;
      }
      want = found;
    } else {
      const allocator = f.allocator;
      if (allocator !== 'default' && allocator !== 'rr' && allocator !== '') {
        problem(
          report,
          r,
          'UnknownAllocatorPolicy',
          `spec.egressIP.allocatorPolicy ${JSON.stringify(allocator)}; using default`,
        );
      }
      want = stickyPair(gw, cur, f) ?? (allocator === 'rr' ? null : gw.defaultEip);
      if (want === null && gw.eipCount === 0n) {
        problem(report, r, 'EmptyPool', `gateway ${gw.name} has no EIP to allocate`);
        continue;
      }
    }
    r.model = gw;
    r.want = want;
    if (want === null) roundRobin.push(r);
    else if ((cur !== undefined && same(cur, want)) || (f.s4 === want.ipv4 && f.s6 === want.ipv6)) {
      keeping.push(r);
    } else fresh.push(r);
  }
  const claims = new Claims();
  for (const e of [...keeping, ...fresh]) {
    const want = e.want as ResolvedEip;
    const gw = e.model as GatewayModel;
    if (claims.conflicts(gw.name, want)) {
      // The message names no winner: which claim blocks first depends on claim order, and a
      // level-triggered problem must read the same on every call.
      problem(
        report,
        e,
        'EIPConflict',
        `EIP ${want.ipv4}|${want.ipv6} of gateway ${gw.name} shares an address with another EIP pair in use`,
      );
      continue;
    }
    claims.take(gw.name, want);
    e.unit = want.unit;
    e.eip = want;
  }
  allocateRoundRobin(roundRobin, claims, report);
  return resolved;
}

function problem(report: ProblemSink, r: ResolvedPolicy, reason: string, message: string): void {
  const involvedObject: EgressEvent['involvedObject'] =
    r.kind === 'EgressPolicy'
      ? { kind: r.kind, name: r.name, namespace: r.namespace }
      : { kind: r.kind, name: r.name };
  report({ type: 'Warning', reason, message, involvedObject });
}

function gatewayNameOf(
  kind: ResolvedPolicy['kind'],
  namespace: string,
  f: PolicyFacts,
  state: EgressState,
  clusterDefault: string | null,
): string | null {
  const named = f.gatewayName;
  if (named !== '') return named;
  if (kind === 'EgressPolicy') {
    const fromNamespace = state.namespaceLabels?.[namespace]?.[NAMESPACE_DEFAULT_GATEWAY_LABEL] ?? '';
    if (fromNamespace !== '') return fromNamespace;
  }
  return clusterDefault;
}

function stickyPair(gw: GatewayModel, cur: EipPair | undefined, f: PolicyFacts): ResolvedEip | null {
  if (cur !== undefined && (cur.ipv4 !== '' || cur.ipv6 !== '')) {
    const found = resolvePair(gw, cur.ipv4, cur.ipv6);
    if (typeof found !== 'string') return found;
  }
  const { s4, s6 } = f;
  if (s4 !== '' || s6 !== '') {
    const found = resolvePair(gw, s4, s6);
    if (typeof found !== 'string') return found;
  }
  return null;
}

function allocateRoundRobin(pending: readonly ResolvedPolicy[], claims: Claims, report: ProblemSink): void {
  // The smallest free position only grows as addresses get claimed, so one cursor per gateway finds
  // each free EIP in amortised constant time without expanding the pool.
  const cursor = new Map<string, bigint>();
  for (const e of pending) {
    const gw = e.model as GatewayModel;
    let c = cursor.get(gw.name) ?? 0n;
    while (c < gw.eipCount && !claims.isFree(eipAt(gw, c))) c++;
    cursor.set(gw.name, c);
    let chosen: ResolvedEip | null = c < gw.eipCount ? eipAt(gw, c) : null;
    if (chosen === null) {
      // Every position is in use, so the pool is no larger than the number of policies: a scan is fine.
      let bestCount = Number.POSITIVE_INFINITY;
      for (let i = 0n; i < gw.eipCount; i++) {
        const eip = eipAt(gw, i);
        if (claims.conflicts(gw.name, eip)) continue;
        const n = claims.users(gw.name, eip);
        if (n < bestCount) {
          chosen = eip;
          bestCount = n;
        }
      }
    }
    if (chosen === null) {
      problem(report, e, 'PoolExhausted', `gateway ${gw.name}: every EIP is held by another gateway or pair`);
      continue;
    }
    claims.take(gw.name, chosen);
    e.unit = chosen.unit;
    e.eip = chosen;
  }
}
