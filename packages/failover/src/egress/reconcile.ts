import { checkEvictionTimeoutMs, checkFlag, checkNowMs, EgressConfigError } from '../config-error.js';
import {
  expiryInstant,
  type HealthReason,
  healthOf,
  healthReason,
  type MemberHealth,
} from '../core/heartbeat.js';
import {
  type AddressClaim,
  type AddressGroup,
  type PlacementDecision,
  placeAddresses,
} from '../core/placement.js';
import { compareEvents } from './events.js';
import { resolvePair } from './gateways.js';
import { describeValue, inputProblem, stateLists, tunnelEntry } from './input-guard.js';
import { type GatewayModel, isResolved } from './model.js';
import { gatewayOutcome, signatureMatches, signatureOf } from './outcome.js';
import { type EgressStructure, type GatewayOutcome, StructureCache } from './structure.js';
import type {
  EgressChanges,
  EgressConfig,
  EgressEvent,
  EgressState,
  GatewayStatusChange,
  PeerClaimLike,
  PeerClaimVerdict,
  PolicyStatusChange,
  TunnelObservation,
  TunnelPhase,
  TunnelPhaseChange,
} from './types.js';
import { nameOf } from './types.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Reconciles egress state at `nowMs` and returns only the changes to write: tunnel phases, complete
 * gateway `status.nodeList`s, policy statuses, events for transitions, the level-triggered list of input
 * problems, and `nextWakeAt`. Deterministic, memoised and synchronous: no clock reads, no I/O; the
 * same input gives the same output, whatever was reconciled before. Bad cluster objects never throw:
 * they come back in `problems` (`InvalidInput` names the field). Bad settings do throw, at once, an
 * {@link EgressConfigError} naming the field (`evictionTimeoutMs` must be a number of milliseconds of
 * at least 100; `nowMs` finite; the flags booleans).
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
  const eviction = validateConfig(config);
  checkNowMs(nowMs);
  const lists = stateLists(state);
  const s = cache.of(lists);
  const events: EgressEvent[] = [];
  let callProblems: EgressEvent[] | null = lists.problems.length > 0 ? [...lists.problems] : null;

  // Health and phase of every node some gateway selects (only those heartbeat and get phases
  // written), by slot: this runs on every call over every node, so it allocates no object per node.
  const n = s.selected.length;
  const observations: Array<TunnelObservation | undefined> = new Array(n);
  let duplicates: Map<number, number> | null = null;
  const tunnels = lists.tunnels;
  for (let i = 0; i < tunnels.length; i++) {
    let t = tunnels[i] as TunnelObservation;
    const name = (t as { tunnel?: { metadata?: { name?: unknown } } } | null)?.tunnel?.metadata?.name;
    if (typeof name !== 'string' || typeof t.observedAt !== 'number' || !Number.isFinite(t.observedAt)) {
      // The uncommon shapes (never heartbeated, or not a well-formed entry) are checked fully.
      if (t?.observedAt !== null || typeof name !== 'string') {
        callProblems ??= [];
        const checked = tunnelEntry(t, callProblems);
        if (checked === null) continue;
        t = checked;
      }
    }
    const slot = s.slotOf.get(nameOf(t.tunnel));
    if (slot === undefined) continue;
    const held = observations[slot];
    if (held !== undefined) {
      // Two tunnels of one name (a caller's merge gone wrong): the latest observation counts, so the
      // result does not depend on list order.
      duplicates ??= new Map();
      duplicates.set(slot, (duplicates.get(slot) ?? 1) + 1);
      if (compareObservations(held, t) >= 0) continue;
    }
    observations[slot] = t;
  }
  if (duplicates !== null) {
    callProblems ??= [];
    for (const [slot, count] of duplicates) {
      const name = s.selected[slot] as string;
      callProblems.push({
        type: 'Warning',
        reason: 'DuplicateTunnel',
        message: `EgressTunnel ${name} is listed ${count} times; the latest observation counts`,
        involvedObject: { kind: 'EgressTunnel', name },
      });
    }
  }
  const evictOnNotReady = config.nodeNotReadyEvicts !== false;
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
    const written = t?.tunnel.status?.phase;
    const currentPhase = typeof written === 'string' ? written : '';
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
    tunnelChanges.push(
      desired === 'HeartbeatTimeout'
        ? { name, phase: desired, reason: change, overdueMs: nowMs - ((observedAt as number) + eviction) }
        : { name, phase: desired, reason: change },
    );
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

  const claims = claimsOf((state as { peerClaims?: unknown } | null)?.peerClaims, s, (p) => {
    callProblems ??= [];
    callProblems.push(p);
  });
  const outcomes = outcomesOf(s, config, { observations, reasons, phases }, claims);

  const gatewayChanges: GatewayStatusChange[] = [];
  const policyChanges: PolicyStatusChange[] = [...s.policies];
  const problems: EgressEvent[] = [...s.problems];
  if (callProblems !== null) problems.push(...callProblems);
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
    peerClaims: claims.verdicts(),
  };
}

/** The call's peer claims: as given, as the placement's claims, and their verdicts once placed. */
interface CallClaims {
  /** The well-formed claims in input order, with the placement unit (`null`: no such gateway or EIP). */
  readonly entries: ReadonlyArray<{
    readonly claim: PeerClaimLike;
    readonly address: string | null;
    /** Made against another version of the gateway than the current one. */
    readonly stale: boolean;
  }>;
  /** The gateways some claim names (their outcomes are computed, never reused). */
  readonly gateways: ReadonlySet<string>;
  /** Verdicts by entry index, filled by {@link outcomesOf}. */
  readonly placed: Map<number, PeerClaimVerdict['verdict']>;
  verdicts(): PeerClaimVerdict[];
}

const NO_CLAIMS: readonly PeerClaimLike[] = [];

/** Reads `state.peerClaims` (hostile input reported, never thrown) and maps each EIP to its unit. */
function claimsOf(raw: unknown, s: EgressStructure, report: (p: EgressEvent) => void): CallClaims {
  let list: readonly unknown[] = NO_CLAIMS;
  if (Array.isArray(raw)) list = raw;
  else if (raw !== undefined && raw !== null)
    report(
      inputProblem(
        'EgressTunnel',
        '',
        `state.peerClaims must be a list, got ${describeValue(raw)}; it counts as empty`,
      ),
    );
  const entries: Array<{ claim: PeerClaimLike; address: string | null; stale: boolean }> = [];
  const gateways = new Set<string>();
  list.forEach((c, i) => {
    const o = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    const bad =
      ['node', 'gateway', 'ipv4', 'ipv6', 'from'].find((k) => typeof o[k] !== 'string') ??
      (o.statusVersion === undefined || typeof o.statusVersion === 'string' ? undefined : 'statusVersion');
    if (bad !== undefined) {
      report(
        inputProblem(
          'EgressTunnel',
          typeof o.node === 'string' ? o.node : '',
          `state.peerClaims[${i}].${bad} must be a string, got ${describeValue(o[bad])}; the claim is ignored`,
        ),
      );
      return;
    }
    const claim = c as PeerClaimLike;
    const gw = s.gateways.get(claim.gateway);
    let address: string | null = null;
    if (gw !== undefined && (claim.ipv4 !== '' || claim.ipv6 !== '')) {
      const pair = resolvePair(gw, claim.ipv4, claim.ipv6);
      if (isResolved(pair) && s.unitsByGateway.get(gw.name)?.has(pair.unit) === true) address = pair.unit;
    }
    if (address !== null) gateways.add(claim.gateway);
    const seen = claim.statusVersion;
    const stale = gw !== undefined && seen !== undefined && seen !== gw.gateway.metadata?.resourceVersion;
    entries.push({ claim, address, stale });
  });
  const placed = new Map<number, PeerClaimVerdict['verdict']>();
  return {
    entries,
    gateways,
    placed,
    verdicts: () => entries.map((e, i) => ({ claim: e.claim, verdict: placed.get(i) ?? 'unknown' })),
  };
}

/** Checks the settings and returns the eviction timeout (throws {@link EgressConfigError}). */
function validateConfig(config: EgressConfig): number {
  if (typeof config !== 'object' || config === null)
    throw new EgressConfigError(
      'config',
      `config must be an object like { evictionTimeoutMs: 3000 }, got ${config === null ? 'null' : typeof config}`,
    );
  checkFlag(config.rebalance, 'config.rebalance', 'rebalance');
  checkFlag(config.nodeNotReadyEvicts, 'config.nodeNotReadyEvicts', 'nodeNotReadyEvicts');
  return checkEvictionTimeoutMs(config.evictionTimeoutMs, 'config.evictionTimeoutMs');
}

/**
 * Orders two observations of one tunnel (positive: `a` counts): the later `observedAt` (never
 * heartbeated counts as earliest), then a draining one (the agent announced its shutdown: the cautious
 * reading), then the phase text. Whatever else differs, the engine reads nothing else of a tunnel.
 */
function compareObservations(a: TunnelObservation, b: TunnelObservation): number {
  const ta = a.observedAt ?? Number.NEGATIVE_INFINITY;
  const tb = b.observedAt ?? Number.NEGATIVE_INFINITY;
  if (ta !== tb) return ta > tb ? 1 : -1;
  const da = a.draining === true;
  const db = b.draining === true;
  if (da !== db) return da ? 1 : -1;
  const pa = String(a.tunnel.status?.phase ?? '');
  const pb = String(b.tunnel.status?.phase ?? '');
  return pa === pb ? 0 : pa > pb ? 1 : -1;
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
function outcomesOf(
  s: EgressStructure,
  config: EgressConfig,
  now: SlotHealth,
  claims: CallClaims,
): GatewayOutcome[] {
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
      !claims.gateways.has(gw.name) &&
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
  // Every gateway a claim names is among the stale ones (see above).
  const addressClaims: AddressClaim[] = [];
  const claimIndex: number[] = [];
  claims.entries.forEach((e, i) => {
    if (e.address === null) return;
    if (e.stale) {
      const holder = s.previous.get(e.claim.gateway)?.find((p) => p.address === e.address)?.member;
      claims.placed.set(i, holder === e.claim.node ? 'recorded' : 'stale');
      return;
    }
    addressClaims.push({
      group: e.claim.gateway,
      address: e.address,
      member: e.claim.node,
      from: e.claim.from,
    });
    claimIndex.push(i);
  });
  const placement = placeAddresses(groups, health, previous, {
    rebalance,
    heldElsewhere,
    claims: addressClaims,
  });
  const { decisions } = placement;
  for (const [k, v] of placement.claims.entries()) claims.placed.set(claimIndex[k] as number, v.verdict);
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
