import {
  allocateRoundRobin,
  Claims,
  problem,
  reportSharedRoundRobin,
  retryClaims,
  settleClaims,
} from './claims.js';
import { resolvePair } from './gateways.js';
import { describeValue, inputProblem } from './input-guard.js';
import {
  comparePolicies,
  type GatewayModel,
  isResolved,
  nodeUnit,
  type PairRefusal,
  type PolicyFacts,
  type PolicyKind,
  type ProblemSink,
  type ResolvedEip,
  type ResolvedPolicy,
} from './model.js';
import { factsOf } from './policy-facts.js';
import { type StatusIndex, statusIndexOf } from './status-index.js';
import type { EgressPolicyLike, EgressState, EipPair } from './types.js';

/** Namespace label naming a namespace's default gateway. */
export const NAMESPACE_DEFAULT_GATEWAY_LABEL = 'spidernet.io/egressgateway-default';

function newResolved(kind: PolicyKind, facts: PolicyFacts, namespace: string, index: number): ResolvedPolicy {
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
    stage: 'none',
    member: null,
    statusNode: facts.node,
    statusEip: null,
  };
}

const same = (a: EipPair, b: EipPair) => a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6;

/**
 * Resolves every policy to its gateway and placement unit.
 *
 * EIP choice, in order: an explicit `spec.egressIP.ipv4/ipv6`; the EIP the policy already has (gateway
 * status, then policy status) while it is still in the pool (allocation is sticky); the gateway's
 * default EIP (`allocatorPolicy: default`); for `rr`, the first pool position whose addresses nobody
 * uses (when all are used, the pair with the fewest policies). Policies that keep their written EIP
 * claim addresses first, so a new policy can never take an address from a running one. A policy
 * whose sticky pair collides with another pair in use (only a corrupt status can do that) gets its
 * next choice in the same call (see `retryClaims`), so that a second call has nothing left to do.
 *
 * The result lists each policy once (the first of duplicates), cluster policies first, otherwise in
 * input order: nothing is sorted here. Where order decides something (address conflicts, `rr`
 * allocation) the affected policies are taken in {@link comparePolicies} order, so the outcome does
 * not depend on input order; callers sort what they output.
 */
export function resolvePolicies(
  state: Pick<EgressState, 'policies' | 'clusterPolicies' | 'namespaceLabels'>,
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
  const visit = (kind: PolicyKind, p: EgressPolicyLike, index: number): void => {
    if (typeof p !== 'object' || p === null) {
      const list = kind === 'EgressPolicy' ? 'state.policies' : 'state.clusterPolicies';
      report(
        inputProblem(kind, '', `${list} holds ${describeValue(p)} where an object belongs; it is ignored`),
      );
      return;
    }
    const f = factsOf(p);
    const name = f.name;
    // Nameless objects are skipped (a name of the wrong type is reported).
    if (name === '') {
      for (const m of f.defects) report(inputProblem(kind, '', m));
      return;
    }
    if (kind === 'EgressPolicy' && f.namespaceDefect !== null) {
      report(inputProblem(kind, name, f.namespaceDefect));
      return;
    }
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
    for (const m of f.defects) problem(report, r, 'InvalidInput', m);
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
      r.unit = nodeUnit(r.kind, r.namespace, r.name);
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
      if (!isResolved(found)) {
        const reason = found.refusal === 'NotUsable' ? 'EIPNotUsable' : 'EIPNotInPool';
        problem(report, r, reason, `spec.egressIP: ${found.message}`);
        return;
      }
      want = found;
      // Its own status already names the pair: the policy keeps it, whatever the gateway status says.
      if (f.s4 === want.ipv4 && f.s6 === want.ipv6) {
        r.model = gw;
        r.want = want;
        r.stage = 'keep';
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
      // No usable position at all (an empty pool, or one of unspecified and network addresses only).
      if (want === null && gw.defaultEip === null) {
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
    r.stage = r.statusEip !== null || (cur !== undefined && same(cur, want)) ? 'keep' : 'fresh';
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
  if (!settleClaims(resolved, 'keep', claims, null) || !settleClaims(resolved, 'fresh', claims, null)) {
    for (const e of resolved) if (e.stage !== 'none') e.unit = e.eip = null;
    const keeping = resolved.filter((e) => e.stage === 'keep').sort(comparePolicies);
    const fresh = resolved.filter((e) => e.stage === 'fresh').sort(comparePolicies);
    claims = new Claims();
    const retry: ResolvedPolicy[] = [];
    settleClaims(keeping, 'keep', claims, report, retry);
    settleClaims(fresh, 'fresh', claims, report, retry);
    retryClaims(retry.sort(comparePolicies), claims, report, roundRobin);
  }
  roundRobin.sort(comparePolicies);
  allocateRoundRobin(roundRobin, claims, report);
  reportSharedRoundRobin(resolved, claims, report);
  return resolved;
}

function gatewayNameOf(
  kind: PolicyKind,
  namespace: string,
  f: PolicyFacts,
  state: Pick<EgressState, 'namespaceLabels'>,
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
function explicitPair(gw: GatewayModel, f: PolicyFacts): ResolvedEip | PairRefusal {
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
    if (isResolved(found)) return found;
  }
  const { s4, s6 } = f;
  if (s4 !== '' || s6 !== '') {
    const found = resolvePair(gw, s4, s6);
    if (isResolved(found)) return found;
  }
  return null;
}
