import { compareEvents, eipText, unassignable, whyText } from './egress-events.js';
import { buildGateways, type GatewayModel, NodeIndex } from './egress-gateways.js';
import { keyOf, type ResolvedPolicy, resolvePolicies } from './egress-policies.js';
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
  TunnelPhase,
  TunnelPhaseChange,
} from './egress-types.js';
import { nameOf } from './egress-types.js';
import { assessHeartbeats, type HeartbeatMember, type MemberHealth } from './heartbeat.js';
import { type PreviousPlacement, placeAddresses } from './placement.js';
import { statusIndexOf } from './status-index.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function nodeReady(node: NodeLike | undefined): boolean {
  // A node without a Ready condition (just registered) is not held against it: the heartbeat decides.
  const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'True';
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
  const nodesByName = new Map(state.nodes.map((n) => [nameOf(n), n] as const));
  const gateways = buildGateways(state.gateways, nodeIndex, report);
  const policies = resolvePolicies(state, gateways, report);

  // Health of every node some gateway selects; only those heartbeat and get phases written.
  const selected = new Set<string>();
  for (const g of gateways.values()) for (const n of g.candidates) selected.add(n);
  const tunnels = new Map(state.tunnels.map((t) => [nameOf(t.tunnel), t] as const));
  const evictOnNotReady = config.nodeNotReadyEvicts !== false;
  const members: HeartbeatMember[] = [...selected].sort(cmp).map((name) => {
    const t = tunnels.get(name);
    return {
      id: name,
      observedAt: t?.observedAt ?? null,
      draining: t?.draining === true,
      ready: !evictOnNotReady || nodeReady(nodesByName.get(name)),
    };
  });
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

  // Previous placement from the written gateway status.
  const previous: PreviousPlacement[] = [];
  const unitsByGateway = new Map<string, Map<string, ResolvedPolicy[]>>();
  for (const r of policies) {
    if (r.gateway === null || r.unit === null) continue;
    let units = unitsByGateway.get(r.gateway);
    if (units === undefined) {
      units = new Map();
      unitsByGateway.set(r.gateway, units);
    }
    const list = units.get(r.unit);
    if (list === undefined) units.set(r.unit, [r]);
    else list.push(r);
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
  // Per gateway: unit -> member (null: unplaced).
  const placed = new Map<string, Map<string, string | null>>();
  for (const gw of gateways.values()) placed.set(gw.name, new Map());
  for (const d of decisions) placed.get(d.group)?.set(d.address, d.member);

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
  // EIPs no policy uses any more are released (not placed).
  for (const p of previous) {
    const placedOfGw = placed.get(p.group) as Map<string, string | null>;
    if (placedOfGw.has(p.address) || !p.address.startsWith('eip:')) continue;
    placedOfGw.set(p.address, null);
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
    const byNode = new Map<string, string[]>();
    const order = unitOrder(gw);
    const placedOfGw = placed.get(gw.name) as Map<string, string | null>;
    for (const unit of unitsByGateway.get(gw.name)?.keys() ?? []) {
      const member = placedOfGw.get(unit);
      if (member === null || member === undefined) continue;
      const list = byNode.get(member) ?? [];
      list.push(unit);
      byNode.set(member, list);
    }
    // Most gateways do not change: check the written list in place before building a new one.
    if (writtenListMatches(gw, phaseOf, byNode, placedOfGw, unitsByGateway.get(gw.name), order)) continue;
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
    const member =
      r.gateway === null || r.unit === null ? null : (placed.get(r.gateway)?.get(r.unit) ?? null);
    const eip: EipPair =
      r.unit === null
        ? { ipv4: '', ipv6: '' }
        : r.useNodeIP
          ? member === null
            ? { ipv4: '', ipv6: '' }
            : nodeAddresses(nodesByName.get(member))
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
