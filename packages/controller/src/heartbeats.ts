import type { EgressTunnel } from '@egressgateway/crds';

/**
 * The controller's own record of when it saw each tunnel's current heartbeat value (client-go's
 * observed-time idea): eviction is judged against this local instant, never against the
 * timestamp the agent wrote, so clock skew between nodes cannot cause false or missed evictions.
 * Every replica keeps it warm from its informer, so a new leader judges with times of its own.
 */
export class HeartbeatObserver {
  private readonly seen = new Map<string, { value: string; at: number }>();

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

  /** When the current heartbeat value was first seen, or null if the tunnel never heartbeated. */
  observedAt(name: string): number | null {
    return this.seen.get(name)?.at ?? null;
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
