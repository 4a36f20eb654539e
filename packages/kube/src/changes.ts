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
