import type { EgressTunnel } from '@egressgateway/crds';

/**
 * True when an EgressTunnel update changed nothing but its heartbeat (`status.lastHeartbeatTime`,
 * and the resourceVersion that comes with every write). The most frequent write of the system:
 * consumers use this to skip work that a heartbeat cannot change.
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

/**
 * True when resourceVersion `a` is at least `b`. Resource versions are opaque to clients in
 * general; etcd's (and the embedded server's) are increasing integers, so they are compared as
 * numbers when both are, and otherwise only equality counts.
 */
export function resourceVersionAtLeast(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) >= BigInt(b);
}
