import { compareEvents, eipText, unassignable, whyText } from './egress-events.js';
import { buildGateways, type GatewayModel, NodeIndex } from './egress-gateways.js';
import { comparePolicies, keyOf, type ResolvedPolicy, resolvePolicies } from './egress-policies.js';
import { sameNodeList, unitOrder, writtenListMatches } from './egress-status.js';
import type {
  EgressChanges,
  EgressConfig,
  EgressEvent,
  EgressState,
  EipPair,
  GatewayNodeStatus,
  NodeLike,
  PolicyStatusChange,
  TunnelObservation,
  TunnelPhase,
  TunnelPhaseChange,
} from './egress-types.js';
import { nameOf } from './egress-types.js';
import { assessHeartbeats, type HeartbeatMember, type MemberHealth } from './heartbeat.js';
import { type PreviousPlacement, placeAddresses } from './placement.js';
import { statusIndexOf } from './status-index.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Sorts a unit's users in place, stably, into canonical order. Lists are short (the policies sharing
 * one EIP) and usually sorted already; `Array.prototype.sort` allocates scratch space on every call,
 * which over thousands of units was the engine's largest source of garbage.
 */
function sortUsers(users: ResolvedPolicy[]): void {
  for (let i = 1; i < users.length; i++) {
    const u = users[i] as ResolvedPolicy;
    let j = i - 1;
    while (j >= 0 && comparePolicies(users[j] as ResolvedPolicy, u) > 0) {
      users[j + 1] = users[j] as ResolvedPolicy;
      j--;
    }
    users[j + 1] = u;
  }
}

function nodeReady(node: NodeLike | undefined): boolean {
  // A node without a Ready condition (just registered) is not held against it: the heartbeat decides.
  for (const c of node?.status?.conditions ?? []) if (c.type === 'Ready') return c.status === 'True';
  return true;
}

function nodeAddresses(node: NodeLike | undefined): EipPair {
  let ipv4 = '';
  let ipv6 = '';
  for (const a of node?.status?.addresses ?? []) {
    if (a.type !== 'InternalIP') continue;
    if (a.address.includes(':')) ipv6 ||= a.address;
    else ipv4 ||= a.address;
  }
  return { ipv4, ipv6 };
}

/**
 * Reconciles egress state at `nowMs` and returns only the changes to write: tunnel phases, complete
 * gateway `status.nodeList`s, policy statuses, events for transitions, the level-triggered list of input
 * problems, and `nextWakeAt`. Pure and synchronous: no clock reads, no I/O, never throws on bad input.
 *
 * Inputs must be treated as immutable: replace an object when it changes, never edit it in place
 * (informer caches and {@link applyEgressChanges} do so). Parsed pools, policy fields and the index of
 * a written status are memoised per object, which makes a reconcile after a heartbeat change cost
 * little more than the changed parts.
 *
 * The gateway `status.nodeList` is the one source of truth: where each EIP is now is read from it, and
 * policy statuses are derived from the new one. Call it on every event and again at `nextWakeAt`.
 *
 * @example
 * ```ts
 * const changes = reconcileEgress(
 *   { gateways, tunnels: tunnels.map((t) => ({ tunnel: t, observedAt: seenAt.get(t.metadata?.name) ?? null })),
 *     nodes, policies, clusterPolicies: [] },
 *   { evictionTimeoutMs: 3_000 },
 *   Date.now(),
 * );
 * for (const t of changes.tunnels) await patchTunnelStatus(t.name, { phase: t.phase });
 * for (const g of changes.gateways) await patchGatewayStatus(g.name, { nodeList: g.nodeList });
 * for (const p of changes.policies) await patchPolicyStatus(p, p.status);
 * if (changes.nextWakeAt !== null) setTimer(changes.nextWakeAt);
 * ```
 */
export function reconcileEgress(state: EgressState, config: EgressConfig, nowMs: number): EgressChanges {
  const problems: EgressEvent[] = [];
  const events: EgressEvent[] = [];
  const report = (p: EgressEvent) => problems.push(p);
  const nodeIndex = new NodeIndex(state.nodes);
  const gateways = buildGateways(state.gateways, nodeIndex, report);
  const policies = resolvePolicies(state, gateways, report);

  // Health of every node some gateway selects; only those heartbeat and get phases written.
  const selected = new Set<string>();
  for (const g of gateways.values()) for (const n of g.candidates) selected.add(n);
  const tunnels = new Map<string, TunnelObservation>();
  for (const t of state.tunnels) tunnels.set(nameOf(t.tunnel), t);
  const evictOnNotReady = config.nodeNotReadyEvicts !== false;
  // Health does not depend on member order; only the tunnel changes are sorted (below), not every node.
  const members: HeartbeatMember[] = [];
  for (const name of selected) {
    const t = tunnels.get(name);
    members.push({
      id: name,
      observedAt: t?.observedAt ?? null,
      draining: t?.draining === true,
      ready: !evictOnNotReady || nodeReady(nodeIndex.node(name)),
    });
  }
  const { health, nextChangeAt } = assessHeartbeats(
    members,
    { evictionTimeoutMs: config.evictionTimeoutMs },
    nowMs,
  );

  const tunnelChanges: TunnelPhaseChange[] = [];
  const phaseOf = new Map<string, string>();
  for (const m of members) {
    const h = health.get(m.id) as MemberHealth;
    const t = tunnels.get(m.id);
    const currentPhase = t?.tunnel.status?.phase ?? '';
    let desired: TunnelPhase | null = null;
    if (h.heartbeat === 'expired') desired = 'HeartbeatTimeout';
    else if (h.heartbeat === 'fresh') desired = h.reason === 'NotReady' ? 'NodeNotReady' : 'Ready';
    phaseOf.set(m.id, desired ?? (currentPhase === '' ? 'Pending' : currentPhase));
    if (t === undefined || desired === null || desired === currentPhase) continue;
    const reason =
      desired === 'HeartbeatTimeout'
        ? 'HeartbeatTimeout'
        : desired === 'NodeNotReady'
          ? 'NodeNotReady'
          : currentPhase === 'HeartbeatTimeout'
            ? 'HeartbeatRecovered'
            : 'HeartbeatReceived';
    tunnelChanges.push({ name: m.id, phase: desired, reason });
    const message =
      desired === 'HeartbeatTimeout'
        ? `update tunnel status to HeartbeatTimeout: no heartbeat observed for more than ${config.evictionTimeoutMs} ms (fresh until ${h.freshUntil})`
        : `update tunnel status to ${desired} (was ${currentPhase || 'unset'})`;
    events.push({
      type: desired === 'Ready' ? 'Normal' : 'Warning',
      reason,
      message,
      involvedObject: { kind: 'EgressTunnel', name: m.id },
    });
  }

  tunnelChanges.sort((a, b) => cmp(a.name, b.name));

  // Previous placement from the written gateway status.
  const previous: PreviousPlacement[] = [];
  // Per gateway: unit -> its users. Policies of one gateway usually come together: keep the last map.
  const unitsByGateway = new Map<string, Map<string, ResolvedPolicy[]>>();
  let lastGateway: string | null = null;
  let lastUnits = new Map<string, ResolvedPolicy[]>();
  for (const r of policies) {
    if (r.gateway === null || r.unit === null) continue;
    if (r.gateway !== lastGateway) {
      lastGateway = r.gateway;
      let units = unitsByGateway.get(r.gateway);
      if (units === undefined) {
        units = new Map();
        unitsByGateway.set(r.gateway, units);
      }
      lastUnits = units;
    }
    const list = lastUnits.get(r.unit);
    if (list === undefined) lastUnits.set(r.unit, [r]);
    else list.push(r);
  }
  // Users in canonical order (messages and written statuses list them so); usually already so.
  for (const units of unitsByGateway.values()) {
    for (const users of units.values()) if (users.length > 1) sortUsers(users);
  }
  // Per gateway: unit -> the EIP pair the status wrote for it (for released and duplicate events).
  const previousEip = new Map<string, ReadonlyMap<string, EipPair>>();
  for (const gw of gateways.values()) {
    const index = statusIndexOf(gw);
    previousEip.set(gw.name, index.eips);
    for (const p of index.placements) previous.push(p);
    for (const [unit, nodes] of index.duplicates) {
      events.push({
        type: 'Warning',
        reason: 'DuplicateOwner',
        message: `status lists EIP ${eipText(index.eips.get(unit) as EipPair)} on ${nodes.join(', ')}; keeping one`,
        involvedObject: { kind: 'EgressGateway', name: gw.name },
      });
    }
  }

  const groups = [...gateways.values()].map((gw) => ({
    id: gw.name,
    candidates: gw.candidates,
    addresses: [...(unitsByGateway.get(gw.name)?.keys() ?? [])],
  }));
  const { decisions } = placeAddresses(groups, health, previous, { rebalance: config.rebalance === true });
  // Every unit gets one decision; its users carry the member. Per gateway: how many units are placed.
  const placedCount = new Map<string, number>();
  let lastGroup: string | null = null;
  let unitsOfGroup: Map<string, ResolvedPolicy[]> | undefined;
  let count = 0;
  for (const d of decisions) {
    if (d.group !== lastGroup) {
      if (lastGroup !== null) placedCount.set(lastGroup, (placedCount.get(lastGroup) ?? 0) + count);
      lastGroup = d.group;
      unitsOfGroup = unitsByGateway.get(d.group);
      count = 0;
    }
    if (d.member !== null) count++;
    for (const u of unitsOfGroup?.get(d.address) ?? []) u.member = d.member;
  }
  if (lastGroup !== null) placedCount.set(lastGroup, (placedCount.get(lastGroup) ?? 0) + count);

  // Events for every EIP that changed hands, with from, to and why.
  for (const d of decisions) {
    if (d.change === 'kept' || (d.change === 'unassignable' && d.previous === null)) {
      if (d.change === 'unassignable')
        problems.push(unassignable(d.group, d.address, unitsByGateway, gateways));
      continue;
    }
    const gw = gateways.get(d.group) as GatewayModel;
    const users = unitsByGateway.get(d.group)?.get(d.address) ?? [];
    const first = users[0]?.eip ?? null;
    const eip = first === null ? null : { ipv4: first.ipv4, ipv6: first.ipv6 };
    const what = eip === null ? `node IP of policy ${d.address.slice(5)}` : `EIP ${eipText(eip)}`;
    const who = users.map(keyOf).join(', ');
    const base = {
      involvedObject: { kind: 'EgressGateway' as const, name: d.group },
      ...(eip ? { eip } : {}),
    };
    const prevHealth = d.previous === null ? undefined : health.get(d.previous);
    const why = whyText(
      prevHealth,
      d.previous !== null && gw.candidates.includes(d.previous),
      config.evictionTimeoutMs,
    );
    if (d.change === 'assigned') {
      events.push({
        type: 'Normal',
        reason: 'EIPAssigned',
        message: `${what} assigned to ${d.member} for ${who}`,
        to: d.member as string,
        ...base,
      });
    } else if (d.change === 'moved') {
      const failure =
        prevHealth !== undefined &&
        prevHealth.reason !== 'Draining' &&
        gw.candidates.includes(d.previous as string);
      events.push({
        type: failure ? 'Warning' : 'Normal',
        reason: 'EIPMoved',
        message: `${what} moved from ${d.previous} to ${d.member}: ${why}`,
        from: d.previous as string,
        to: d.member as string,
        ...base,
      });
    } else if (d.change === 'rebalanced') {
      events.push({
        type: 'Normal',
        reason: 'EIPRebalanced',
        message: `${what} moved from ${d.previous ?? 'nowhere'} to ${d.member} to even out load (rebalance is on)`,
        ...(d.previous !== null ? { from: d.previous } : {}),
        to: d.member as string,
        ...base,
      });
    } else {
      events.push({
        type: 'Warning',
        reason: 'EIPUnassignable',
        message: `${what} lost its node ${d.previous} (${why}) and no selected node is healthy`,
        from: d.previous as string,
        ...base,
      });
      problems.push(unassignable(d.group, d.address, unitsByGateway, gateways));
    }
  }
  // EIPs no policy uses any more are released (not placed), once each.
  let releasedUnits: Map<string, Set<string>> | undefined;
  for (const p of previous) {
    if (unitsByGateway.get(p.group)?.has(p.address) === true || !p.address.startsWith('eip:')) continue;
    releasedUnits ??= new Map();
    let ofGroup = releasedUnits.get(p.group);
    if (ofGroup === undefined) {
      ofGroup = new Set();
      releasedUnits.set(p.group, ofGroup);
    }
    if (ofGroup.has(p.address)) continue;
    ofGroup.add(p.address);
    const eip = previousEip.get(p.group)?.get(p.address) as EipPair;
    events.push({
      type: 'Normal',
      reason: 'EIPReleased',
      message: `EIP ${eipText(eip)} released from ${p.member}: no policy uses it`,
      involvedObject: { kind: 'EgressGateway', name: p.group },
      eip,
      from: p.member,
    });
  }

  // Desired gateway status: every selected node, its EIPs by pool position, then its useNodeIP policies.
  const gatewayChanges = [];
  for (const gw of gateways.values()) {
    const order = unitOrder(gw);
    const unitsOfGw = unitsByGateway.get(gw.name);
    // Most gateways do not change: check the written list in place before building a new one.
    if (writtenListMatches(gw, phaseOf, placedCount.get(gw.name) ?? 0, unitsOfGw, order)) continue;
    const byNode = new Map<string, string[]>();
    for (const [unit, users] of unitsOfGw ?? []) {
      const member = (users[0] as ResolvedPolicy).member;
      if (member === null) continue;
      const list = byNode.get(member) ?? [];
      list.push(unit);
      byNode.set(member, list);
    }
    const nodeList: GatewayNodeStatus[] = gw.candidates.map((name) => {
      const entry: GatewayNodeStatus = { name, status: phaseOf.get(name) ?? 'Pending' };
      const units = (byNode.get(name) ?? []).sort(order);
      const eips: NonNullable<GatewayNodeStatus['eips']> = [];
      const nodeIpPolicies: Array<{ name: string; namespace: string }> = [];
      for (const unit of units) {
        const users = unitsByGateway.get(gw.name)?.get(unit) ?? [];
        const refs = users
          .map((u) => ({ name: u.name, namespace: u.namespace }))
          .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
        if (unit.startsWith('eip:')) {
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
    if (!sameNodeList(gw.gateway.status?.nodeList ?? [], nodeList))
      gatewayChanges.push({ name: gw.name, nodeList });
  }

  // Policy statuses derive from the new placement.
  const policyChanges: PolicyStatusChange[] = [];
  for (const r of policies) {
    const member = r.gateway === null || r.unit === null ? null : r.member;
    // Most statuses are unchanged: the pair was already found equal to the written one.
    if (r.eip !== null && r.eip === r.statusEip && r.statusNode === (member ?? '')) continue;
    const eip: EipPair =
      r.unit === null
        ? { ipv4: '', ipv6: '' }
        : r.facts.useNodeIP
          ? member === null
            ? { ipv4: '', ipv6: '' }
            : nodeAddresses(nodeIndex.node(member))
          : (r.eip as EipPair);
    const node = member ?? '';
    const cur = r.facts;
    if (cur.s4 === eip.ipv4 && cur.s6 === eip.ipv6 && cur.node === node) {
      continue;
    }
    const status = { eip: { ipv4: eip.ipv4, ipv6: eip.ipv6 }, node };
    policyChanges.push(
      r.kind === 'EgressPolicy'
        ? { kind: r.kind, namespace: r.namespace, name: r.name, status }
        : { kind: r.kind, name: r.name, status },
    );
  }

  // Policies were resolved in input order; the output lists them in canonical order.
  policyChanges.sort(
    (a, b) => cmp(a.kind, b.kind) || cmp(a.namespace ?? '', b.namespace ?? '') || cmp(a.name, b.name),
  );
  problems.sort(compareEvents);
  events.sort(compareEvents);
  return {
    tunnels: tunnelChanges,
    gateways: gatewayChanges,
    policies: policyChanges,
    events,
    problems,
    nextWakeAt: nextChangeAt,
  };
}
