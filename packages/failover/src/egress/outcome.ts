// What one gateway's placement decisions mean for the outside: events, its status.nodeList, the
// statuses of its policies, and the health signature under which the outcome can be reused.

import type { HealthReason, MemberHealth } from '../core/heartbeat.js';
import type { PlacementDecision } from '../core/placement.js';
import { eipText, unassignable, whyText } from './events.js';
import { type GatewayModel, isEipUnit, keyOf, type ResolvedPolicy, unitPolicy } from './model.js';
import { sameNodeList, unitOrder, writtenListMatches } from './status-list.js';
import { type EgressStructure, type GatewayOutcome, nodeAddresses, statusChange } from './structure.js';
import type {
  EgressConfig,
  EgressEvent,
  EipPair,
  GatewayIpUsage,
  GatewayNodeStatus,
  GatewayStatusChange,
  PolicyStatusChange,
} from './types.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Whether the heartbeats of a gateway's candidates (`slots`) are, for an outcome that kept every EIP
 * in place, what they were when `signature` was taken: the same phase to write and the same health.
 * Such an outcome depends on nothing else of the heartbeats (no event names a node's heartbeat time
 * unless an EIP leaves it), so new heartbeats of healthy nodes keep it valid.
 */
export function signatureMatches(
  signature: ReadonlyArray<string | boolean>,
  slots: readonly number[],
  reasons: readonly HealthReason[],
  phases: readonly string[],
): boolean {
  if (signature.length !== slots.length * 2) return false;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i] as number;
    if (signature[2 * i] !== phases[slot] || signature[2 * i + 1] !== (reasons[slot] === 'Fresh'))
      return false;
  }
  return true;
}

/** The signature {@link signatureMatches} compares with. */
export function signatureOf(
  slots: readonly number[],
  reasons: readonly HealthReason[],
  phases: readonly string[],
): Array<string | boolean> {
  const signature: Array<string | boolean> = [];
  for (const slot of slots) signature.push(phases[slot] as string, reasons[slot] === 'Fresh');
  return signature;
}

/**
 * The outcome of one gateway's decisions (`decisions`: one per unit of the gateway, as
 * `placeAddresses` returns them), given the health and phase of at least its candidates. Records the
 * member of every policy of the gateway on its resolved form, which later reuses of the structure read.
 */
export function gatewayOutcome(
  s: EgressStructure,
  gw: GatewayModel,
  decisions: readonly PlacementDecision[],
  health: ReadonlyMap<string, MemberHealth>,
  phaseOf: ReadonlyMap<string, string>,
  config: EgressConfig,
  signature: ReadonlyArray<string | boolean>,
): GatewayOutcome {
  const units = s.unitsByGateway.get(gw.name);
  const events: EgressEvent[] = [];
  const problems: EgressEvent[] = [];
  let placed = 0;
  let allKept = true;
  for (const d of decisions) {
    if (d.member !== null) placed++;
    if (d.change !== 'kept') allKept = false;
    for (const u of units?.get(d.address) ?? []) u.member = d.member;
  }
  for (const d of decisions) {
    if (d.change === 'kept') continue;
    if (d.change === 'unassignable')
      problems.push(unassignable(gw.name, d.address, s.unitsByGateway, s.gateways));
    if (d.change === 'unassignable' && d.previous === null) continue;
    events.push(decisionEvent(gw, d, units?.get(d.address) ?? [], health, config));
  }
  let keptLoad: Map<string, number> | null = null;
  if (allKept) {
    keptLoad = new Map();
    for (const d of decisions) keptLoad.set(d.member as string, (keptLoad.get(d.member as string) ?? 0) + 1);
  }
  return {
    signature,
    keptLoad,
    gateway: gatewayStatus(s, gw, phaseOf, placed),
    policies: policyStatuses(s, units),
    events,
    problems,
  };
}

/** The event of one decision that changed where a unit lives, with from, to and why. */
function decisionEvent(
  gw: GatewayModel,
  d: PlacementDecision,
  users: readonly ResolvedPolicy[],
  health: ReadonlyMap<string, MemberHealth>,
  config: EgressConfig,
): EgressEvent {
  const first = users[0]?.eip ?? null;
  const eip = first === null ? null : { ipv4: first.ipv4, ipv6: first.ipv6 };
  const what = eip === null ? `node IP of policy ${unitPolicy(d.address)}` : `EIP ${eipText(eip)}`;
  const who = users.map(keyOf).join(', ');
  const base = {
    involvedObject: { kind: 'EgressGateway' as const, name: d.group },
    ...(eip ? { eip } : {}),
  };
  const prevHealth = d.previous === null ? undefined : health.get(d.previous);
  const wasCandidate = d.previous !== null && gw.candidates.includes(d.previous);
  const why = whyText(prevHealth, wasCandidate, config.evictionTimeoutMs);
  switch (d.change) {
    case 'assigned':
      return {
        type: 'Normal',
        reason: 'EIPAssigned',
        message: `${what} assigned to ${d.member} for ${who}`,
        to: d.member as string,
        ...base,
      };
    case 'moved': {
      const failure = prevHealth !== undefined && prevHealth.reason !== 'Draining' && wasCandidate;
      return {
        type: failure ? 'Warning' : 'Normal',
        reason: 'EIPMoved',
        message: `${what} moved from ${d.previous} to ${d.member}: ${why}`,
        from: d.previous as string,
        to: d.member as string,
        ...base,
      };
    }
    case 'claimed':
      // The peers already moved it on the wire: the status records a fact, whatever the old
      // holder's heartbeat says.
      return {
        type: 'Warning',
        reason: 'EIPMoved',
        message: `${what} moved from ${d.previous} to ${d.member}: PeerClaim: the gateway's peers made ${d.member} take over`,
        from: d.previous as string,
        to: d.member as string,
        ...base,
      };
    case 'rebalanced':
      return {
        type: 'Normal',
        reason: 'EIPRebalanced',
        message: `${what} moved from ${d.previous ?? 'nowhere'} to ${d.member} to even out load (rebalance is on)`,
        ...(d.previous !== null ? { from: d.previous } : {}),
        to: d.member as string,
        ...base,
      };
    default:
      return {
        type: 'Warning',
        reason: 'EIPUnassignable',
        message: `${what} lost its node ${d.previous} (${why}) and no selected node is healthy`,
        from: d.previous as string,
        ...base,
      };
  }
}

/**
 * The gateway's desired `status.nodeList` when it differs from the written one: every selected node,
 * its EIPs by pool position, then its useNodeIP policies.
 */
function gatewayStatus(
  s: EgressStructure,
  gw: GatewayModel,
  phaseOf: ReadonlyMap<string, string>,
  placed: number,
): GatewayStatusChange | null {
  const order = unitOrder(gw);
  const units = s.unitsByGateway.get(gw.name);
  const ipUsage = ipUsageOf(gw, units);
  const usageWritten = sameIpUsage(gw.gateway.status?.ipUsage, ipUsage);
  // Most gateways do not change: check the written list in place before building a new one.
  if (usageWritten && writtenListMatches(gw, phaseOf, placed, units, order)) return null;
  const byNode = new Map<string, string[]>();
  for (const [unit, users] of units ?? []) {
    const member = (users[0] as ResolvedPolicy).member;
    if (member === null) continue;
    const list = byNode.get(member) ?? [];
    list.push(unit);
    byNode.set(member, list);
  }
  const nodeList: GatewayNodeStatus[] = gw.candidates.map((name) => {
    const entry: GatewayNodeStatus = { name, status: phaseOf.get(name) ?? 'Pending' };
    const eips: NonNullable<GatewayNodeStatus['eips']> = [];
    const nodeIpPolicies: Array<{ name: string; namespace: string }> = [];
    for (const unit of (byNode.get(name) ?? []).sort(order)) {
      const users = units?.get(unit) ?? [];
      const refs = users
        .map((u) => ({ name: u.name, namespace: u.namespace }))
        .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
      if (isEipUnit(unit)) {
        const eip = users[0]?.eip as EipPair;
        eips.push({ ipv4: eip.ipv4, ipv6: eip.ipv6, policies: refs });
      } else nodeIpPolicies.push(...refs);
    }
    if (nodeIpPolicies.length > 0) {
      nodeIpPolicies.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
      eips.push({ ipv4: '', ipv6: '', policies: nodeIpPolicies });
    }
    if (eips.length > 0) entry.eips = eips;
    return entry;
  });
  return usageWritten && sameNodeList(gw.gateway.status?.nodeList ?? [], nodeList)
    ? null
    : { name: gw.name, nodeList, ipUsage };
}

/** Distinct addresses of each pool of a pool model (memoised: a pool model is memoised per `ippools`). */
const poolTotals = new WeakMap<GatewayModel['v4'], number>();
function poolTotal(pool: GatewayModel['v4']): number {
  let total = poolTotals.get(pool);
  if (total === undefined) {
    const n = pool.size; // distinct addresses: netaddr merges overlapping entries
    total = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    poolTotals.set(pool, total);
  }
  return total;
}

/**
 * `status.ipUsage` of a gateway: its pools' distinct sizes, minus the distinct EIPs placed on a
 * node (every placed EIP comes from the gateway's pools: the engine resolves them there).
 */
function ipUsageOf(
  gw: GatewayModel,
  units: ReadonlyMap<string, readonly ResolvedPolicy[]> | undefined,
): GatewayIpUsage {
  const used4 = new Set<string>();
  const used6 = new Set<string>();
  for (const [unit, users] of units ?? []) {
    const first = users[0];
    if (!isEipUnit(unit) || first === undefined || first.member === null) continue;
    const eip = first.eip as EipPair;
    if (eip.ipv4 !== '') used4.add(eip.ipv4);
    if (eip.ipv6 !== '') used6.add(eip.ipv6);
  }
  const t4 = poolTotal(gw.v4);
  const t6 = poolTotal(gw.v6);
  return {
    ipv4Total: t4,
    ipv4Free: Math.max(0, t4 - used4.size),
    ipv6Total: t6,
    ipv6Free: Math.max(0, t6 - used6.size),
  };
}

function sameIpUsage(written: Partial<GatewayIpUsage> | undefined, usage: GatewayIpUsage): boolean {
  return (
    typeof written === 'object' &&
    written !== null &&
    written.ipv4Total === usage.ipv4Total &&
    written.ipv4Free === usage.ipv4Free &&
    written.ipv6Total === usage.ipv6Total &&
    written.ipv6Free === usage.ipv6Free
  );
}

/** Status changes of the gateway's placed policies, derived from the new placement. */
function policyStatuses(
  s: EgressStructure,
  units: ReadonlyMap<string, readonly ResolvedPolicy[]> | undefined,
): PolicyStatusChange[] {
  const changes: PolicyStatusChange[] = [];
  for (const users of units?.values() ?? []) {
    for (const r of users) {
      const member = r.member;
      // Most statuses are unchanged: the pair was already found equal to the written one.
      if (r.eip !== null && r.eip === r.statusEip && r.statusNode === (member ?? '')) continue;
      const eip: EipPair = r.facts.useNodeIP
        ? member === null
          ? { ipv4: '', ipv6: '' }
          : nodeAddresses(s.nodeIndex.node(member))
        : (r.eip as EipPair);
      const node = member ?? '';
      const f = r.facts;
      if (f.s4 === eip.ipv4 && f.s6 === eip.ipv6 && f.node === node) continue;
      changes.push(statusChange(r, eip, node));
    }
  }
  return changes;
}
