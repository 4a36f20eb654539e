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
 * up to and including `t + evictionTimeoutMs` and expired from the first instant after it.
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
  const health = new Map<string, MemberHealth>();
  let nextChangeAt: number | null = null;
  for (const m of members) {
    let heartbeat: HeartbeatState = 'missing';
    let freshUntil: number | null = null;
    if (m.observedAt !== null && Number.isFinite(m.observedAt)) {
      freshUntil = m.observedAt + options.evictionTimeoutMs;
      heartbeat = nowMs <= freshUntil ? 'fresh' : 'expired';
      if (heartbeat === 'fresh') {
        const changeAt = Math.floor(freshUntil) + 1;
        if (nextChangeAt === null || changeAt < nextChangeAt) nextChangeAt = changeAt;
      }
    }
    const reason: HealthReason =
      heartbeat === 'missing'
        ? 'NoHeartbeat'
        : heartbeat === 'expired'
          ? 'HeartbeatTimeout'
          : m.ready === false
            ? 'NotReady'
            : m.draining === true
              ? 'Draining'
              : 'Fresh';
    health.set(m.id, { id: m.id, healthy: reason === 'Fresh', heartbeat, reason, freshUntil });
  }
  return { health, nextChangeAt };
}
