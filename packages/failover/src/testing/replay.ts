import { checkEvictionTimeoutMs, checkRange } from '../config-error.js';
import { applyEgressChanges } from '../egress/apply-changes.js';
import { reconcileEgress } from '../egress/reconcile.js';
import type { EgressState, TunnelObservation } from '../egress/types.js';

/** Options of {@link replayHeartbeats}. */
export interface ReplayOptions {
  /** The engine's eviction timeout (ms, at least 100). */
  readonly evictionTimeoutMs: number;
  /**
   * Replay up to and including this instant (ms). Default: the last heartbeat of all nodes plus the
   * timeout plus {@link HeartbeatReplay.detectionBoundMs}, so that stopped heartbeats are detected.
   */
  readonly untilMs?: number;
  /**
   * How the controller wakes besides heartbeats. Left out: at the engine's `nextWakeAt` (this
   * product's deadline controller; detection is exact). A number: it also polls every `pollMs` ms from
   * 0 and does not use `nextWakeAt` (upstream's monitor loop; detection within one poll period).
   */
  readonly pollMs?: number;
}

/** What happened to one node during a replay. */
export interface NodeReplay {
  /** The heartbeats replayed (observed instants up to `untilMs`, sorted). */
  readonly heartbeats: readonly number[];
  /** Instants at which the engine set the node's tunnel to `HeartbeatTimeout`. */
  readonly evictions: readonly number[];
  /** Instants at which the engine set it back to `Ready` after a `HeartbeatTimeout`. */
  readonly recoveries: readonly number[];
  /** The last heartbeat replayed, or `null` when it had none. */
  readonly lastHeartbeatAt: number | null;
  /** The longest time between two consecutive heartbeats (0 with fewer than two). */
  readonly maxGapMs: number;
}

/** An EIP that moved between nodes during a replay. */
export interface ReplayMove {
  readonly atMs: number;
  readonly eip: string;
  readonly from: string;
  readonly to: string;
}

/** Result of {@link replayHeartbeats}. */
export interface HeartbeatReplay {
  /** Per node (the keys of the schedules given). */
  readonly nodes: Readonly<Record<string, NodeReplay>>;
  /** EIP moves (`EIPMoved` events), in time order. */
  readonly moves: readonly ReplayMove[];
  /**
   * How late after `lastHeartbeat + evictionTimeoutMs` an eviction may come: 1 ms with the deadline
   * controller (the first whole millisecond after the deadline), `pollMs` when polling.
   */
  readonly detectionBoundMs: number;
  /** The instant the replay ran to. */
  readonly untilMs: number;
  /** How many times the engine was called. */
  readonly reconciles: number;
}

/**
 * Replays heartbeat schedules (such as {@link arbHeartbeatSchedule} draws) through the real engine, the
 * way a controller drives it: it reconciles whenever a heartbeat is observed and whenever the engine
 * asked to be woken (`nextWakeAt`), or on a poll period; writes every change back; and records when
 * each node was evicted and recovered and where its EIPs went. The cluster is one gateway selecting
 * every node, with one `rr` policy (so one EIP) per node. Deterministic; needs no fast-check.
 *
 * When a wake-up and a heartbeat fall on the same millisecond, the wake-up runs first: a heartbeat
 * observed 1 ms after the deadline evicts, and the heartbeat then recovers the node at once.
 *
 * @example
 * ```ts
 * const r = replayHeartbeats(
 *   { node1: { observedAt: [0, 1_000, 2_000] }, node2: { observedAt: [0, 1_000, 2_000, 3_000, 4_000, 5_000] } },
 *   { evictionTimeoutMs: 3_000 },
 * );
 * r.nodes.node1?.evictions; // [5001]: the first millisecond after 2000 + 3000
 * r.moves; // [{ atMs: 5001, eip: '198.18.0.1', from: 'node1', to: 'node2' }]
 * ```
 */
export function replayHeartbeats(
  schedules: Readonly<Record<string, { readonly observedAt: readonly number[] }>>,
  options: ReplayOptions,
): HeartbeatReplay {
  const T = checkEvictionTimeoutMs(options?.evictionTimeoutMs, 'options.evictionTimeoutMs');
  const poll =
    options.pollMs === undefined
      ? null
      : checkRange(options.pollMs, 'options.pollMs', 'pollMs', 1, Number.POSITIVE_INFINITY);
  const bound = poll ?? 1;
  const names = Object.keys(schedules).sort();
  if (names.length > 65_000) throw new RangeError('replayHeartbeats: at most 65 000 nodes');
  let last = 0;
  for (const name of names)
    for (const t of schedules[name]?.observedAt ?? []) {
      checkRange(
        t,
        `schedules.${name}.observedAt[]`,
        'observedAt',
        Number.NEGATIVE_INFINITY,
        Number.POSITIVE_INFINITY,
      );
      last = Math.max(last, t);
    }
  const until =
    options.untilMs === undefined
      ? last + T + bound
      : checkRange(
          options.untilMs,
          'options.untilMs',
          'untilMs',
          Number.NEGATIVE_INFINITY,
          Number.POSITIVE_INFINITY,
        );

  // Every heartbeat as (instant, node), in time order.
  const beats: Array<readonly [number, string]> = [];
  for (const name of names)
    for (const t of schedules[name]?.observedAt ?? []) if (t <= until) beats.push([t, name]);
  beats.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));

  const ip = (i: number) => `198.18.${(i + 1) >> 8}.${(i + 1) & 255}`;
  let state: EgressState = {
    gateways: [
      {
        metadata: { name: 'gw' },
        spec: {
          ippools: { ipv4: names.map((_, i) => ip(i)), ipv4DefaultEIP: ip(0) },
          nodeSelector: { selector: {} },
        },
      },
    ],
    nodes: names.map((name) => ({ metadata: { name } })),
    tunnels: names.map((name) => ({
      tunnel: { metadata: { name }, status: { phase: 'Pending' } },
      observedAt: null,
    })),
    policies: names.map((name) => ({
      metadata: { name: `p-${name}`, namespace: 'replay' },
      spec: { egressGatewayName: 'gw', egressIP: { allocatorPolicy: 'rr' } },
    })),
    clusterPolicies: [],
  };
  const evictions = new Map(names.map((n) => [n, [] as number[]]));
  const recoveries = new Map(names.map((n) => [n, [] as number[]]));
  const moves: ReplayMove[] = [];
  const config = { evictionTimeoutMs: T };
  let reconciles = 0;
  let wake: number | null = null;
  let nextPoll = poll === null ? null : 0;
  let k = 0;
  const run = (now: number) => {
    reconciles++;
    const changes = reconcileEgress(state, config, now);
    for (const t of changes.tunnels) {
      if (t.phase === 'HeartbeatTimeout') evictions.get(t.name)?.push(now);
      else if (t.reason === 'HeartbeatRecovered') recoveries.get(t.name)?.push(now);
    }
    for (const e of changes.events)
      if (e.reason === 'EIPMoved' && e.from !== undefined && e.to !== undefined)
        moves.push({ atMs: now, eip: e.eip?.ipv4 ?? '', from: e.from, to: e.to });
    state = applyEgressChanges(state, changes);
    wake = poll === null ? changes.nextWakeAt : null;
  };
  for (;;) {
    const beatAt = k < beats.length ? (beats[k] as readonly [number, string])[0] : Number.POSITIVE_INFINITY;
    const timerAt = Math.min(wake ?? Number.POSITIVE_INFINITY, nextPoll ?? Number.POSITIVE_INFINITY);
    const now = Math.min(beatAt, timerAt);
    if (!(now <= until)) break;
    if (timerAt === now) {
      // The wake-up (or poll) of this millisecond runs before a heartbeat observed in it.
      if (nextPoll !== null && nextPoll === now) nextPoll += poll as number;
      if (wake === now) wake = null;
      run(now);
      continue;
    }
    // Every heartbeat of this millisecond, then one reconcile (as an informer event would trigger).
    const observed = new Map<string, number>();
    while (k < beats.length && (beats[k] as readonly [number, string])[0] === now) {
      observed.set((beats[k] as readonly [number, string])[1], now);
      k++;
    }
    state = {
      ...state,
      tunnels: state.tunnels.map((t): TunnelObservation => {
        const at = observed.get(t.tunnel.metadata?.name ?? '');
        return at === undefined ? t : { ...t, observedAt: at };
      }),
    };
    run(now);
  }

  const nodes: Record<string, NodeReplay> = {};
  for (const name of names) {
    const heartbeats = [...(schedules[name]?.observedAt ?? [])]
      .filter((t) => t <= until)
      .sort((a, b) => a - b);
    let maxGapMs = 0;
    for (let i = 1; i < heartbeats.length; i++)
      maxGapMs = Math.max(maxGapMs, (heartbeats[i] as number) - (heartbeats[i - 1] as number));
    nodes[name] = {
      heartbeats,
      evictions: evictions.get(name) ?? [],
      recoveries: recoveries.get(name) ?? [],
      lastHeartbeatAt: heartbeats.at(-1) ?? null,
      maxGapMs,
    };
  }
  return { nodes, moves, detectionBoundMs: bound, untilMs: until, reconciles };
}
