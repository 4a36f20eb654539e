import { checkEvictionTimeoutMs, checkNowMs } from '../config-error.js';

/** A member that proves it is alive by heartbeats (a node's agent, a replica, a speaker). */
export interface HeartbeatMember {
  /** Stable member id (for egress: the node name). */
  readonly id: string;
  /**
   * The observer's local instant (ms) at which it first saw the member's current heartbeat value,
   * or `null` when it has never seen one. Using the observer's own clock makes eviction immune to
   * clock skew between member and observer.
   */
  readonly observedAt: number | null;
  /** The member announced a planned shutdown: it keeps nothing and gets nothing new. */
  readonly draining?: boolean | undefined;
  /** An outside readiness signal (for egress: the Node's Ready condition). `false` makes it unhealthy. */
  readonly ready?: boolean | undefined;
}

/** Settings of {@link assessHeartbeats}. */
export interface HeartbeatOptions {
  /** A member is healthy while `now <= observedAt + evictionTimeoutMs`. */
  readonly evictionTimeoutMs: number;
}

/** Heartbeat state alone: fresh, expired, or never seen. */
export type HeartbeatState = 'fresh' | 'expired' | 'missing';

/** Why a member is or is not healthy, in order of precedence. */
export type HealthReason = 'Fresh' | 'HeartbeatTimeout' | 'NoHeartbeat' | 'Draining' | 'NotReady';

/** Health of one member at `nowMs`. */
export interface MemberHealth {
  readonly id: string;
  /** May hold addresses: heartbeat fresh, not draining, not marked not-ready. */
  readonly healthy: boolean;
  readonly heartbeat: HeartbeatState;
  readonly reason: HealthReason;
  /** The last instant the heartbeat counts as fresh (`observedAt + evictionTimeoutMs`), or `null`. */
  readonly freshUntil: number | null;
}

/** Result of {@link assessHeartbeats}. */
export interface HeartbeatAssessment {
  readonly health: ReadonlyMap<string, MemberHealth>;
  /**
   * The earliest instant (integer ms) at which some member's heartbeat state changes with no new
   * input: the first millisecond after the earliest `freshUntil` among fresh members. `null` when
   * nothing is fresh.
   */
  readonly nextChangeAt: number | null;
}

/**
 * Judges every member's health at `nowMs`. The boundary is exact: a heartbeat observed at `t` is fresh
 * up to and including `t + evictionTimeoutMs` and expired from the first instant after it. Pure.
 * Throws {@link EgressConfigError} when `evictionTimeoutMs` is not a number of milliseconds of at least
 * 100 (a smaller value looks like seconds) or `nowMs` is not finite.
 *
 * @example
 * ```ts
 * const { health, nextChangeAt } = assessHeartbeats(
 *   [{ id: 'node1', observedAt: 1_000 }, { id: 'node2', observedAt: null }],
 *   { evictionTimeoutMs: 3_000 },
 *   4_000,
 * );
 * health.get('node1')?.healthy; // true (4000 <= 1000 + 3000)
 * nextChangeAt; // 4001
 * ```
 */
export function assessHeartbeats(
  members: readonly HeartbeatMember[],
  options: HeartbeatOptions,
  nowMs: number,
): HeartbeatAssessment {
  checkEvictionTimeoutMs(options?.evictionTimeoutMs, 'options.evictionTimeoutMs');
  checkNowMs(nowMs);
  const health = new Map<string, MemberHealth>();
  let nextChangeAt: number | null = null;
  for (const m of members) {
    const reason = healthReason(m.observedAt, m.ready, m.draining, options.evictionTimeoutMs, nowMs);
    const h = healthOf(m.id, reason, m.observedAt, options.evictionTimeoutMs);
    health.set(m.id, h);
    if (h.heartbeat !== 'fresh') continue;
    const changeAt = expiryInstant(h.freshUntil as number);
    if (nextChangeAt === null || changeAt < nextChangeAt) nextChangeAt = changeAt;
  }
  return { health, nextChangeAt };
}

/** The health record of a member judged `reason` (see {@link healthReason}). */
export function healthOf(
  id: string,
  reason: HealthReason,
  observedAt: number | null,
  evictionTimeoutMs: number,
): MemberHealth {
  const freshUntil = reason === 'NoHeartbeat' ? null : (observedAt as number) + evictionTimeoutMs;
  return { id, healthy: reason === 'Fresh', heartbeat: heartbeatOf(reason), reason, freshUntil };
}

/**
 * Why a member is or is not healthy at `nowMs`. The boundary is exact: fresh up to and including
 * `observedAt + evictionTimeoutMs`. Allocation-free, for callers judging thousands of members a call.
 */
export function healthReason(
  observedAt: number | null,
  ready: boolean | undefined,
  draining: boolean | undefined,
  evictionTimeoutMs: number,
  nowMs: number,
): HealthReason {
  if (observedAt === null || !Number.isFinite(observedAt)) return 'NoHeartbeat';
  if (nowMs > observedAt + evictionTimeoutMs) return 'HeartbeatTimeout';
  if (ready === false) return 'NotReady';
  if (draining === true) return 'Draining';
  return 'Fresh';
}

/** The heartbeat state a reason implies (the reasons are ordered so that it is unique). */
function heartbeatOf(reason: HealthReason): HeartbeatState {
  return reason === 'NoHeartbeat' ? 'missing' : reason === 'HeartbeatTimeout' ? 'expired' : 'fresh';
}

/** The first whole millisecond after `freshUntil`: the instant a heartbeat fresh until then expires. */
export function expiryInstant(freshUntil: number): number {
  return Math.floor(freshUntil) + 1;
}
