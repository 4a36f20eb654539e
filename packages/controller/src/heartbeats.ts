import type { EgressTunnel } from '@egressgateway/crds';

/**
 * The controller's own record of when it saw each tunnel's current heartbeat value (client-go's
 * observed-time idea): eviction is judged against this local instant, never against the
 * timestamp the agent wrote, so clock skew between nodes cannot cause false or missed evictions.
 * Every replica keeps it warm from its informer, so a new leader judges with times of its own.
 */
export class HeartbeatObserver {
  private readonly seen = new Map<string, { value: string; at: number }>();
  /** When the tunnels' list/watch failed (an outage in progress), or null. */
  private lostAt: number | null = null;
  /** When the informer last delivered anything about tunnels (any tunnel's change, a list). */
  private lastDelivery: number | null = null;

  /**
   * `silenceMs`: how long the tunnels' watch may deliver nothing before the API server counts as
   * gone (Infinity: never). Every live gateway agent writes a heartbeat each update period, so a
   * watch silent for much longer means a hung API server (a frozen one keeps its connections open
   * and no request fails) or no agent alive at all, and in neither case can the silence be judged
   * against one node.
   */
  constructor(private readonly silenceMs = Number.POSITIVE_INFINITY) {}

  /** Records `value` for `name`; the observed time changes only when the value does. */
  observe(name: string, value: string | undefined, now: number): void {
    if (!value) {
      this.seen.delete(name);
      return;
    }
    const prior = this.seen.get(name);
    if (prior?.value !== value) this.seen.set(name, { value, at: now });
  }

  /** Drops a deleted tunnel. */
  forget(name: string): void {
    this.seen.delete(name);
  }

  /**
   * When the current heartbeat value was first seen, or null if the tunnel never heartbeated.
   * While the API server cannot be reached (a list/watch failure, {@link HeartbeatObserver.lost},
   * or a watch silent for longer than `silenceMs`), the time since then does not count: the
   * observed time moves later with `now`.
   */
  observedAt(name: string, now?: number): number | null {
    const at = this.seen.get(name)?.at;
    if (at === undefined) return null;
    const since = now === undefined ? null : this.outageStart(now);
    if (since === null || now === undefined || now <= since) return at;
    return Math.min(at + (now - since), now);
  }

  /** The tunnels' list/watch failed at `at` (the first failure of an outage counts). */
  lost(at: number): void {
    this.lostAt ??= at;
  }

  /**
   * The informer delivered something about tunnels at `now` (a change or a list): the API server
   * answers. Closes an outage in progress ({@link HeartbeatObserver.regained}).
   */
  delivered(now: number, evictionTimeoutMs: number): { outageMs: number; tunnels: number } | null {
    const start = this.outageStart(now);
    this.lastDelivery = now;
    if (start === null) return null;
    this.lostAt = start;
    return this.regained(now, evictionTimeoutMs);
  }

  /** When the outage in progress at `now` began, or null when there is none. */
  private outageStart(now: number): number | null {
    if (this.lostAt !== null) return this.lostAt;
    if (this.lastDelivery !== null && now - this.lastDelivery > this.silenceMs)
      return this.lastDelivery + this.silenceMs;
    return null;
  }

  /**
   * The API server answers again at `regainedAt` after an outage: the controller could see no
   * heartbeat meanwhile, and when the API server itself was down no agent could write one. The
   * outage does not count against any tunnel: each observed time moves later by its length (at
   * most to `regainedAt`). After an outage of at least half the eviction timeout, every tunnel
   * gets a whole eviction timeout from `regainedAt`: the agents need an update period to write
   * again, and judging them at once would evict every gateway together. A node that really died
   * is evicted that much later. Returns the outage's length and the tunnels whose observed time
   * moved, or null when there was no outage.
   */
  regained(regainedAt: number, evictionTimeoutMs: number): { outageMs: number; tunnels: number } | null {
    if (this.lostAt === null) return null;
    const outageMs = Math.max(0, regainedAt - this.lostAt);
    this.lostAt = null;
    const full = outageMs >= evictionTimeoutMs / 2;
    let tunnels = 0;
    for (const entry of this.seen.values()) {
      if (entry.at >= regainedAt) continue;
      entry.at = full ? regainedAt : Math.min(entry.at + outageMs, regainedAt);
      tunnels++;
    }
    return { outageMs, tunnels };
  }
}

/**
 * True when an EgressTunnel update changed nothing but its heartbeat (`status.lastHeartbeatTime`,
 * and the resourceVersion that comes with every write). The most frequent write of the system:
 * a heartbeat of a Ready tunnel only pushes its deadline later, so the leader need not reconcile.
 */
export function isHeartbeatOnlyChange(before: EgressTunnel, after: EgressTunnel): boolean {
  const strip = (t: EgressTunnel) =>
    JSON.stringify([
      { ...t.status, lastHeartbeatTime: undefined },
      t.metadata?.labels,
      t.metadata?.annotations,
      t.metadata?.deletionTimestamp,
      t.spec,
    ]);
  return strip(before) === strip(after);
}
