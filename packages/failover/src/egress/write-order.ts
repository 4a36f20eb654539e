import type { EgressChanges, GatewayStatusChange, PolicyStatusChange, TunnelPhaseChange } from './types.js';

/**
 * One status write of a decision, in the order {@link egressWrites} lists them. `step` is the order:
 * every write of a step must have succeeded before any write of a later step is sent (writes of one
 * step may go out together).
 *
 * - Step 1, `eviction`: a tunnel set to `HeartbeatTimeout`. Write it with the resourceVersion of the
 *   very tunnel object the decision saw as precondition (`precondition: 'unchanged-since-decision'`):
 *   a heartbeat that landed meanwhile fails the write (409), and then nothing else of this decision may
 *   be written; reconcile again. This is what keeps an agent that is alive after all from losing its
 *   EIPs to a decision taken on a stale heartbeat, and it lets the agent see `HeartbeatTimeout` in its
 *   next heartbeat's response before any other node is told to take its EIPs.
 * - Step 2, `phase`: the other tunnel phases (`Ready`, `NodeNotReady`). They decide nothing about
 *   placement; they may also go out alongside steps 3 and 4.
 * - Step 3, `gateway`: a gateway's complete `status.nodeList`, the one source of truth agents bind
 *   from. Written before the policies, which are derived from it.
 * - Step 4, `policy`: a policy's `status`.
 *
 * A failed write of steps 2-4 needs no undo: reconcile again and the engine returns what is left.
 */
export type EgressWrite =
  | {
      readonly step: 1;
      readonly kind: 'eviction';
      readonly change: TunnelPhaseChange;
      readonly precondition: 'unchanged-since-decision';
    }
  | { readonly step: 2; readonly kind: 'phase'; readonly change: TunnelPhaseChange }
  | { readonly step: 3; readonly kind: 'gateway'; readonly change: GatewayStatusChange }
  | { readonly step: 4; readonly kind: 'policy'; readonly change: PolicyStatusChange };

/**
 * The writes of a decision in the order that keeps failover safe: evictions first (each under a
 * precondition), then the other tunnel phases, then gateway statuses, then policy statuses. Write them
 * in this order and stop at the first failed eviction; see {@link EgressWrite} for why.
 *
 * @example
 * ```ts
 * const changes = reconcileEgress(state, { evictionTimeoutMs: 3_000 }, Date.now());
 * for (const w of egressWrites(changes)) {
 *   if (w.kind === 'eviction') {
 *     // resourceVersion of the tunnel object the decision saw: a newer heartbeat fails the write
 *     const ok = await patchTunnelPhase(w.change.name, w.change.phase, seenVersion(w.change.name));
 *     if (!ok) break; // reconcile again; write nothing else of this decision
 *   } else if (w.kind === 'phase') await patchTunnelPhase(w.change.name, w.change.phase);
 *   else if (w.kind === 'gateway') await patchGatewayStatus(w.change.name, { nodeList: w.change.nodeList });
 *   else await patchPolicyStatus(w.change.kind, w.change.namespace, w.change.name, w.change.status);
 * }
 * ```
 */
export function egressWrites(changes: EgressChanges): EgressWrite[] {
  const writes: EgressWrite[] = [];
  for (const change of changes.tunnels)
    if (change.phase === 'HeartbeatTimeout')
      writes.push({ step: 1, kind: 'eviction', change, precondition: 'unchanged-since-decision' });
  for (const change of changes.tunnels)
    if (change.phase !== 'HeartbeatTimeout') writes.push({ step: 2, kind: 'phase', change });
  for (const change of changes.gateways) writes.push({ step: 3, kind: 'gateway', change });
  for (const change of changes.policies) writes.push({ step: 4, kind: 'policy', change });
  return writes;
}
