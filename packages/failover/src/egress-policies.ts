import { allocateRoundRobin, Claims, FRESH, KEEP, problem, settleClaims } from './egress-claims.js';
import { type GatewayModel, type ProblemSink, type ResolvedEip, resolvePair } from './egress-gateways.js';
import type { EgressPolicyLike, EgressState, EipPair } from './egress-types.js';
import { factsOf, type PolicyFacts } from './policy-facts.js';
import { type StatusIndex, statusIndexOf } from './status-index.js';

/** Namespace label naming a namespace's default gateway. */
export const NAMESPACE_DEFAULT_GATEWAY_LABEL = 'spidernet.io/egressgateway-default';

/** A policy after gateway and EIP resolution. */
export interface ResolvedPolicy {
  readonly kind: 'EgressPolicy' | 'EgressClusterPolicy';
  /** `''` for EgressClusterPolicy. */
  readonly namespace: string;
  readonly name: string;
  /** Position of the policy in the list given to `resolvePolicies` (`clusterPolicies` or `policies`). */
  readonly index: number;
  /** The policy's fields (`facts.useNodeIP` says whether it egresses through its node's IP). */
  readonly facts: PolicyFacts;
  gateway: string | null;
  /** Placement unit: `eip:<ipv4>|<ipv6>` or `node:<kind>/<namespace>/<name>` (useNodeIP); `null` when unresolvable. */
  unit: string | null;
  eip: ResolvedEip | null;
  /** Internal: the gateway model and the pair asked for while claims are settled. */
  model: GatewayModel | null;
  want: ResolvedEip | null;
  /** Internal: whether the wanted pair is claimed with the ones kept (1), after them (2), or not (0). */
  stage: 0 | 1 | 2;
  /** The node the unit is placed on, set by the caller after placement (`null`: none). */
  member: string | null;
  /**
   * The policy's written `status.node`, and the pair its written `status.eip` was found equal to while
   * resolving (`null`: not compared or not equal), so that an unchanged status is recognised later
   * without reading the policy's fields again.
   */
  readonly statusNode: string;
  statusEip: ResolvedEip | null;
}

function newResolved(
  kind: ResolvedPolicy['kind'],
  facts: PolicyFacts,
  namespace: string,
  index: number,
): ResolvedPolicy {
  return {
    facts,
    kind,
    namespace,
    name: facts.name,
    index,
    gateway: null,
    unit: null,
    eip: null,
    model: null,
    want: null,
    stage: 0,
    member: null,
    statusNode: facts.node,
    statusEip: null,
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

/**
 * The canonical policy order: kind (cluster policies first), namespace, name. Every result that
 * depends on the order of policies (which claim wins a conflict, which policy gets which `rr` EIP,
 * the order of policy lists in messages and statuses) follows it, so input order never matters.
 */
export function comparePolicies(a: ResolvedPolicy, b: ResolvedPolicy): number {
  // Equal kinds and namespaces are the common case: one equality test each instead of two orderings.
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return cmp(a.name, b.name);
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
 *
 * The result lists each policy once (the first of duplicates), cluster policies first, otherwise in
 * input order: nothing is sorted here. Where order decides something (address conflicts, `rr`
 * allocation) the affected policies are taken in {@link comparePolicies} order, so the outcome does
 * not depend on input order; callers sort what they output.
 */
export function resolvePolicies(
  state: EgressState,
  gateways: ReadonlyMap<string, GatewayModel>,
  report: ProblemSink,
): ResolvedPolicy[] {
  const clusterDefault =
    [...gateways.values()].find((g) => g.gateway.spec?.clusterDefault === true)?.name ?? null;
  const resolved: ResolvedPolicy[] = [];
  const roundRobin: ResolvedPolicy[] = [];
  // Duplicates (same kind, namespace and name): the first one in input order counts, as a stable
  // sort would keep it. A set per namespace is cheaper than sorting every policy on every call.
  const seenCluster = new Set<string>();
  const seenByNamespace = new Map<string, Set<string>>();
  // Policies of one gateway usually come together: remember the last gateway's status index.
  let lastGw: GatewayModel | undefined;
  let lastIndex: StatusIndex | undefined;
  // Likewise policies of one namespace, and of one gateway name.
  let lastNamespace: string | null = null;
  let lastNames = seenCluster;
  let lastGwName: string | null = null;
  let lastGwModel: GatewayModel | undefined;
  const visit = (kind: ResolvedPolicy['kind'], p: EgressPolicyLike, index: number): void => {
    const f = factsOf(p);
    const name = f.name;
    // Nameless objects are skipped.
    if (name === '') return;
    const namespace = kind === 'EgressPolicy' ? f.namespace : '';
    let names = seenCluster;
    if (kind === 'EgressPolicy') {
      if (namespace !== lastNamespace) {
        lastNamespace = namespace;
        let inNamespace = seenByNamespace.get(namespace);
        if (inNamespace === undefined) {
          inNamespace = new Set();
          seenByNamespace.set(namespace, inNamespace);
        }
        lastNames = inNamespace;
      }
      names = lastNames;
    }
    if (names.has(name)) return;
    names.add(name);
    const r = newResolved(kind, f, namespace, index);
    const gwName = gatewayNameOf(kind, namespace, f, state, clusterDefault);
    if (gwName !== lastGwName) {
      lastGwName = gwName;
      lastGwModel = gwName === null ? undefined : gateways.get(gwName);
    }
    const gw = lastGwModel;
    const useNodeIP = f.useNodeIP;
    r.gateway = gw === undefined ? null : gw.name;
    resolved.push(r);
    if (gwName === null) {
      problem(report, r, 'NoGateway', 'spec.egressGatewayName is empty and there is no default gateway');
      return;
    }
    if (gw === undefined) {
      problem(report, r, 'GatewayNotFound', `spec.egressGatewayName: gateway ${gwName} does not exist`);
      return;
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
      return;
    }
    if (gw !== lastGw) {
      lastGw = gw;
      lastIndex = statusIndexOf(gw);
    }
    let want: ResolvedEip | null;
    let cur: EipPair | undefined;
    if (ipv4 !== '' || ipv6 !== '') {
      const found = explicitPair(gw, f);
      if (typeof found === 'string') {
        problem(report, r, 'EIPNotInPool', `spec.egressIP: ${found}`);
        return;
      }
      want = found;
      // Its own status already names the pair: the policy keeps it, whatever the gateway status says.
      if (f.s4 === want.ipv4 && f.s6 === want.ipv6) {
        r.model = gw;
        r.want = want;
        r.stage = KEEP;
        r.statusEip = want;
        return;
      }
      cur = writtenPair(lastIndex as StatusIndex, f, namespace);
    } else {
      cur = writtenPair(lastIndex as StatusIndex, f, namespace);
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
        return;
      }
    }
    r.model = gw;
    r.want = want;
    if (want === null) {
      roundRobin.push(r);
      return;
    }
    if (f.s4 === want.ipv4 && f.s6 === want.ipv6) r.statusEip = want;
    r.stage = r.statusEip !== null || (cur !== undefined && same(cur, want)) ? KEEP : FRESH;
  };
  // Indexed loops: this runs once per call, so the loop may still be unoptimised code, where
  // for-of allocates an iterator result per element (20 000 per call at 5 000 nodes).
  const { clusterPolicies, policies } = state;
  for (let i = 0; i < clusterPolicies.length; i++)
    visit('EgressClusterPolicy', clusterPolicies[i] as EgressPolicyLike, i);
  for (let i = 0; i < policies.length; i++) visit('EgressPolicy', policies[i] as EgressPolicyLike, i);

  // Without any conflict the claims end the same in every order (see settleClaims), so input order
  // is tried first and the canonical order is only needed when some pair conflicts.
  let claims = new Claims();
  if (!settleClaims(resolved, KEEP, claims, null) || !settleClaims(resolved, FRESH, claims, null)) {
    for (const e of resolved) if (e.stage !== 0) e.unit = e.eip = null;
    const keeping = resolved.filter((e) => e.stage === KEEP).sort(comparePolicies);
    const fresh = resolved.filter((e) => e.stage === FRESH).sort(comparePolicies);
    claims = new Claims();
    settleClaims(keeping, KEEP, claims, report);
    settleClaims(fresh, FRESH, claims, report);
  }
  roundRobin.sort(comparePolicies);
  allocateRoundRobin(roundRobin, claims, report);
  return resolved;
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

/** {@link resolvePair} of the policy's explicit pair, memoised on its facts per pool model. */
function explicitPair(gw: GatewayModel, f: PolicyFacts): ResolvedEip | string {
  if (f.pairOf !== gw.pairCache || f.pair === null) {
    f.pair = resolvePair(gw, f.ipv4, f.ipv6);
    f.pairOf = gw.pairCache;
  }
  return f.pair;
}

/**
 * Where the gateway's written status puts the policy (the one source of truth), if anywhere;
 * memoised on its facts per status index (which is itself memoised per written `status.nodeList`).
 */
function writtenPair(index: StatusIndex, f: PolicyFacts, namespace: string): EipPair | undefined {
  if (f.statusOf !== index || f.statusNs !== namespace) {
    f.written = index.policies.get(namespace)?.get(f.name);
    f.statusOf = index;
    f.statusNs = namespace;
  }
  return f.written;
}

/**
 * The pair a policy without an explicit one already has: the written gateway status, then its own
 * status, while in the pool. Memoised on its facts per pool model and written pair object.
 */
function stickyPair(gw: GatewayModel, cur: EipPair | undefined, f: PolicyFacts): ResolvedEip | null {
  if (f.stickyOf !== gw.pairCache || f.stickyFrom !== cur) {
    f.sticky = stickyPairUncached(gw, cur, f);
    f.stickyOf = gw.pairCache;
    f.stickyFrom = cur;
  }
  return f.sticky;
}

function stickyPairUncached(gw: GatewayModel, cur: EipPair | undefined, f: PolicyFacts): ResolvedEip | null {
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
