import { compareEvents } from './egress-events.js';
import type { GatewayModel } from './egress-gateways.js';
import { gatewayOutcome, signatureMatches, signatureOf } from './egress-outcome.js';
import { type EgressStructure, type GatewayOutcome, StructureCache } from './egress-structure.js';
import type {
  EgressChanges,
  EgressConfig,
  EgressEvent,
  EgressState,
  GatewayStatusChange,
  PolicyStatusChange,
  TunnelObservation,
  TunnelPhase,
  TunnelPhaseChange,
} from './egress-types.js';
import { nameOf } from './egress-types.js';
import { expiryInstant, type HealthReason, healthOf, healthReason, type MemberHealth } from './heartbeat.js';
import { type AddressGroup, type PlacementDecision, placeAddresses } from './placement.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Reconciles egress state at `nowMs` and returns only the changes to write: tunnel phases, complete
 * gateway `status.nodeList`s, policy statuses, events for transitions, the level-triggered list of input
 * problems, and `nextWakeAt`. Pure and synchronous: no clock reads, no I/O, never throws on bad input.
 *
 * Inputs must be treated as immutable: replace an object when it changes, never edit it in place
 * (informer caches and {@link applyEgressChanges} do so); the same goes for the returned changes,
 * which may share objects with earlier results. The work is incremental, invisibly: parsed pools,
 * policy fields and the index of a written status are memoised per object; while gateways, nodes,
 * policies and namespace labels are the very same objects as in the previous call (only heartbeats
 * and time moved), their resolution is reused, and so is the outcome of every gateway whose nodes'
 * health did not change; when only statuses of gateways and policies were replaced (the caller's own
 * writes), only the gateways written are resolved again. The result is always the one a first call
 * on copies of the inputs gives.
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
  return reconcileWith(shared, state, config, nowMs);
}

/** A reconcile function with the signature of {@link reconcileEgress}. */
export type EgressReconciler = (state: EgressState, config: EgressConfig, nowMs: number) => EgressChanges;

/**
 * A {@link reconcileEgress} with its own memory of the previous call. The shared one remembers one
 * state: a process reconciling several clusters (or an operator running two engines side by side)
 * should give each its own reconciler, or every call would start from scratch. Results are the same.
 *
 * @example
 * ```ts
 * const reconcileClusterA = createEgressReconciler();
 * const changes = reconcileClusterA(stateA, { evictionTimeoutMs: 3_000 }, Date.now());
 * ```
 */
export function createEgressReconciler(): EgressReconciler {
  const cache = new StructureCache();
  return (state, config, nowMs) => reconcileWith(cache, state, config, nowMs);
}

const shared = new StructureCache();

function reconcileWith(
  cache: StructureCache,
  state: EgressState,
  config: EgressConfig,
  nowMs: number,
): EgressChanges {
  const s = cache.of(state);
  const events: EgressEvent[] = [];

  // Health and phase of every node some gateway selects (only those heartbeat and get phases
  // written), by slot: this runs on every call over every node, so it allocates no object per node.
  const n = s.selected.length;
  const observations: Array<TunnelObservation | undefined> = new Array(n);
  for (const t of state.tunnels) {
    const slot = s.slotOf.get(nameOf(t.tunnel));
    if (slot !== undefined) observations[slot] = t;
  }
  const evictOnNotReady = config.nodeNotReadyEvicts !== false;
  const eviction = config.evictionTimeoutMs;
  const reasons: HealthReason[] = new Array(n);
  const phases: string[] = new Array(n);
  let nextWakeAt: number | null = null;
  const tunnelChanges: TunnelPhaseChange[] = [];
  for (let slot = 0; slot < n; slot++) {
    const t = observations[slot];
    const observedAt = t?.observedAt ?? null;
    const ready = !evictOnNotReady || s.ready[slot] === true;
    const reason = healthReason(observedAt, ready, t?.draining === true, eviction, nowMs);
    reasons[slot] = reason;
    const currentPhase = t?.tunnel.status?.phase ?? '';
    let desired: TunnelPhase | null = null;
    if (reason === 'HeartbeatTimeout') desired = 'HeartbeatTimeout';
    else if (reason !== 'NoHeartbeat') {
      desired = reason === 'NotReady' ? 'NodeNotReady' : 'Ready';
      const changeAt = expiryInstant((observedAt as number) + eviction);
      if (nextWakeAt === null || changeAt < nextWakeAt) nextWakeAt = changeAt;
    }
    phases[slot] = desired ?? (currentPhase === '' ? 'Pending' : currentPhase);
    if (t === undefined || desired === null || desired === currentPhase) continue;
    const name = s.selected[slot] as string;
    const change =
      desired === 'HeartbeatTimeout'
        ? 'HeartbeatTimeout'
        : desired === 'NodeNotReady'
          ? 'NodeNotReady'
          : currentPhase === 'HeartbeatTimeout'
            ? 'HeartbeatRecovered'
            : 'HeartbeatReceived';
    tunnelChanges.push({ name, phase: desired, reason: change });
    events.push({
      type: desired === 'Ready' ? 'Normal' : 'Warning',
      reason: change,
      message:
        desired === 'HeartbeatTimeout'
          ? `update tunnel status to HeartbeatTimeout: no heartbeat observed for more than ${eviction} ms (fresh until ${(observedAt as number) + eviction})`
          : `update tunnel status to ${desired} (was ${currentPhase || 'unset'})`,
      involvedObject: { kind: 'EgressTunnel', name },
    });
  }
  tunnelChanges.sort((a, b) => cmp(a.name, b.name));

  const outcomes = outcomesOf(s, config, { observations, reasons, phases });

  const gatewayChanges: GatewayStatusChange[] = [];
  const policyChanges: PolicyStatusChange[] = [...s.policies];
  const problems: EgressEvent[] = [...s.problems];
  events.push(...s.events);
  for (const o of outcomes) {
    if (o.gateway !== null) gatewayChanges.push(o.gateway);
    if (o.policies.length > 0) policyChanges.push(...o.policies);
    if (o.events.length > 0) events.push(...o.events);
    if (o.problems.length > 0) problems.push(...o.problems);
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
    nextWakeAt,
  };
}

/** This call's heartbeat judgement, by slot of {@link EgressStructure.selected}. */
interface SlotHealth {
  readonly observations: ReadonlyArray<TunnelObservation | undefined>;
  readonly reasons: readonly HealthReason[];
  readonly phases: readonly string[];
}

/**
 * Every gateway's outcome, in gateway name order: reused where the gateway's candidates' health is
 * what it was and the last outcome kept every EIP in place (it then depended on no other gateway),
 * computed for the others, which are placed together with the addresses the reused ones hold counted
 * as load. With `rebalance` on, every gateway may give or take addresses, so all are computed.
 */
function outcomesOf(s: EgressStructure, config: EgressConfig, now: SlotHealth): GatewayOutcome[] {
  const rebalance = config.rebalance === true;
  const key = `${config.evictionTimeoutMs}|${rebalance}|${config.nodeNotReadyEvicts !== false}`;
  if (s.outcomesKey !== key) {
    s.outcomes.clear();
    s.outcomesKey = key;
  }
  // In gateway name order; the places of the gateways computed below are filled in at the end.
  const result: Array<GatewayOutcome | undefined> = [];
  const stale: GatewayModel[] = [];
  const staleAt: number[] = [];
  for (const gw of s.gateways.values()) {
    const cached = s.outcomes.get(gw.name);
    const slots = s.candidateSlots.get(gw.name) as readonly number[];
    if (
      !rebalance &&
      cached?.keptLoad != null &&
      signatureMatches(cached.signature, slots, now.reasons, now.phases)
    ) {
      result.push(cached);
    } else {
      staleAt.push(result.length);
      stale.push(gw);
      result.push(undefined);
    }
  }
  if (stale.length === 0) return result as GatewayOutcome[];

  // Health and phase by name, for the nodes of the gateways computed now.
  const health = new Map<string, MemberHealth>();
  const phaseOf = new Map<string, string>();
  for (const gw of stale) {
    for (const slot of s.candidateSlots.get(gw.name) as readonly number[]) {
      const name = s.selected[slot] as string;
      if (health.has(name)) continue;
      const observedAt = now.observations[slot]?.observedAt ?? null;
      health.set(
        name,
        healthOf(name, now.reasons[slot] as HealthReason, observedAt, config.evictionTimeoutMs),
      );
      phaseOf.set(name, now.phases[slot] as string);
    }
  }
  // What the reused gateways hold on the nodes the others may place on.
  const heldElsewhere = new Map<string, number>();
  if (stale.length < s.gateways.size) {
    const staleNames = new Set(stale.map((gw) => gw.name));
    for (const name of health.keys()) {
      let held = 0;
      for (const other of s.gatewaysOf.get(name) ?? []) {
        if (!staleNames.has(other)) held += s.outcomes.get(other)?.keptLoad?.get(name) ?? 0;
      }
      heldElsewhere.set(name, held);
    }
  }
  const groups: AddressGroup[] = stale.map((gw) => ({
    id: gw.name,
    candidates: gw.candidates,
    addresses: [...(s.unitsByGateway.get(gw.name)?.keys() ?? [])],
  }));
  const previous = stale.flatMap((gw) => s.previous.get(gw.name) ?? []);
  const { decisions } = placeAddresses(groups, health, previous, { rebalance, heldElsewhere });
  // Decisions come sorted by group, then address: slice them per gateway.
  const byGateway = new Map<string, PlacementDecision[]>();
  for (const d of decisions) {
    const list = byGateway.get(d.group);
    if (list === undefined) byGateway.set(d.group, [d]);
    else list.push(d);
  }
  for (let k = 0; k < stale.length; k++) {
    const gw = stale[k] as GatewayModel;
    const slots = s.candidateSlots.get(gw.name) as readonly number[];
    const signature = signatureOf(slots, now.reasons, now.phases);
    const decided = byGateway.get(gw.name) ?? [];
    const o = gatewayOutcome(s, gw, decided, health, phaseOf, config, signature);
    s.outcomes.set(gw.name, o);
    result[staleAt[k] as number] = o;
  }
  return result as GatewayOutcome[];
}
