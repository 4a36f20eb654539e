import {
  HEARTBEAT_EVICTED_ANNOTATION,
  HEARTBEAT_READER_ANNOTATION,
  type HeartbeatLease,
  heartbeatLeaseEvicted,
  heartbeatLeaseNode,
  heartbeatLeaseRead,
  type Informer,
  type KubeClient,
  LEASES,
  type Logger,
  OwnWrites,
  toKubeApiError,
} from '@egressgateway/kube';
import type { ControllerMetrics } from './metrics.js';

/** What {@link HeartbeatLeases} needs. */
export interface HeartbeatLeasesOptions {
  client: KubeClient;
  log: Logger;
  metrics?: ControllerMetrics | undefined;
  /** The informer on the labelled heartbeat Leases of the agents' namespace. */
  leases: Informer<HeartbeatLease>;
  /** The phase of a node's tunnel as this replica last wrote or saw it. */
  tunnelPhase(node: string): string | undefined;
}

/**
 * The controller's side of the agents' heartbeat Leases beyond observing them: the eviction mark.
 *
 * The heartbeat and the tunnel phase are two objects now, so the tunnel's resourceVersion no
 * longer guards an eviction against a heartbeat landing between the decision and its write. The
 * Lease does: before the tunnel's `HeartbeatTimeout` is written, the Lease the decision judged is
 * annotated {@link HEARTBEAT_EVICTED_ANNOTATION} with its resourceVersion as precondition. A
 * renewal that landed meanwhile fails that write (409: the eviction is decided again with it);
 * a renewal that lands after it comes back with the mark, and the agent lets go at once (see the
 * agent's Heartbeater). The mark is lifted once a later renewal made the tunnel anything but
 * `HeartbeatTimeout` again (a cancelled eviction, or a node that came back).
 */
export class HeartbeatLeases {
  /** Read-your-writes over the Lease informer (the marks this replica wrote). */
  private readonly own: OwnWrites<HeartbeatLease>;
  /** The Leases as of the last decision, by node ({@link HeartbeatLeases.snapshot}). */
  private decided = new Map<string, HeartbeatLease>();

  constructor(private readonly o: HeartbeatLeasesOptions) {
    this.own = new OwnWrites(o.leases);
  }

  /**
   * Remembers the Leases a decision is made on (call it together with building the engine's
   * state): an eviction is marked against exactly those versions, never against a renewal the
   * decision did not see.
   */
  snapshot(): void {
    const byNode = new Map<string, HeartbeatLease>();
    for (const l of this.own.list()) {
      const node = heartbeatLeaseNode(l);
      if (node) byNode.set(node, l);
    }
    this.decided = byNode;
  }

  /**
   * Marks `node`'s Lease as evicted, conditional on the version the last decision saw. True when
   * the eviction may be written (marked now or already, or the node has no Lease: an agent that
   * writes heartbeats to its tunnel, guarded by the tunnel's resourceVersion as before); false
   * when the Lease changed under the decision (a renewal landed, or it was deleted). Other errors
   * are thrown.
   */
  async markEvicted(node: string): Promise<boolean> {
    const seen = this.decided.get(node);
    if (seen === undefined) return true;
    const judged = seen.spec?.renewTime ?? '';
    if (seen.metadata?.annotations?.[HEARTBEAT_EVICTED_ANNOTATION] === judged) return true;
    const name = seen.metadata?.name ?? '';
    try {
      const written = await this.o.client.patchMerge<HeartbeatLease>(LEASES, name, seen.metadata?.namespace, {
        metadata: {
          resourceVersion: seen.metadata?.resourceVersion,
          annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: judged },
        },
      });
      this.own.record(written);
      this.o.metrics?.writes.inc({ resource: 'leases' });
      return true;
    } catch (err) {
      const e = toKubeApiError(err);
      this.o.metrics?.apiErrors.inc({ op: 'patch leases', status: String(e.status) });
      if (e.status === 409 || e.status === 404) {
        this.o.log.debug({ node, lease: name }, 'heartbeat lease changed meanwhile, recomputing');
        return false;
      }
      throw e;
    }
  }

  /**
   * Tells each agent that its Lease is read ({@link HEARTBEAT_READER_ANNOTATION}, once per Lease):
   * until then the agent also heartbeats through its tunnel, for a controller of an older version.
   * Written without a precondition (it never conflicts with a renewal's content); the agent's next
   * renewal meets a new resourceVersion once and re-reads the Lease. Failures wait for the next
   * reconcile.
   */
  async markRead(stop: () => boolean): Promise<void> {
    for (const l of this.own.list()) {
      if (stop()) return;
      if (heartbeatLeaseRead(l) || !heartbeatLeaseNode(l)) continue;
      try {
        const written = await this.o.client.patchMerge<HeartbeatLease>(
          LEASES,
          l.metadata?.name ?? '',
          l.metadata?.namespace,
          { metadata: { annotations: { [HEARTBEAT_READER_ANNOTATION]: 'true' } } },
        );
        this.own.record(written);
        this.o.metrics?.writes.inc({ resource: 'leases' });
      } catch (err) {
        const e = toKubeApiError(err);
        this.o.metrics?.apiErrors.inc({ op: 'patch leases', status: String(e.status) });
        if (e.status !== 404)
          this.o.log.warn(
            { lease: l.metadata?.name, err: e.message, status: e.status },
            'heartbeat lease not marked read',
          );
      }
    }
  }

  /**
   * Lifts the marks whose node renewed after the eviction and whose tunnel is no longer
   * `HeartbeatTimeout`. A conflict or failure waits for the next reconcile (a marked Lease's
   * renewal triggers one).
   */
  async liftEvictions(stop: () => boolean): Promise<void> {
    for (const l of this.own.list()) {
      if (stop()) return;
      if (!heartbeatLeaseEvicted(l)) continue;
      const node = heartbeatLeaseNode(l);
      const judged = l.metadata?.annotations?.[HEARTBEAT_EVICTED_ANNOTATION];
      if (!node || judged === l.spec?.renewTime || this.o.tunnelPhase(node) === 'HeartbeatTimeout') continue;
      try {
        const written = await this.o.client.patchMerge<HeartbeatLease>(
          LEASES,
          l.metadata?.name ?? '',
          l.metadata?.namespace,
          {
            metadata: {
              resourceVersion: l.metadata?.resourceVersion,
              annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: null },
            },
          },
        );
        this.own.record(written);
        this.o.metrics?.writes.inc({ resource: 'leases' });
        this.o.log.info({ node, lease: l.metadata?.name }, 'heartbeat lease eviction lifted');
      } catch (err) {
        const e = toKubeApiError(err);
        this.o.metrics?.apiErrors.inc({ op: 'patch leases', status: String(e.status) });
        if (e.status !== 409 && e.status !== 404)
          this.o.log.warn({ node, err: e.message, status: e.status }, 'heartbeat lease eviction not lifted');
      }
    }
  }

  /**
   * Deletes the heartbeat Leases of nodes that no longer exist: the agent of a removed node is gone
   * and nothing else would ever delete them. Called by the leader with its synced Node cache; a
   * node that comes back gets its Lease again on its agent's first renewal (it creates it on 404).
   * Failures wait for the next reconcile.
   */
  async collect(nodes: ReadonlySet<string>, stop: () => boolean): Promise<void> {
    for (const l of this.own.list()) {
      if (stop()) return;
      const node = heartbeatLeaseNode(l);
      if (!node || nodes.has(node)) continue;
      const lease = l.metadata?.name ?? '';
      try {
        await this.o.client.delete(LEASES, lease, l.metadata?.namespace);
        this.o.metrics?.writes.inc({ resource: 'leases' });
        this.o.log.info({ node, lease }, 'heartbeat lease of a removed node deleted');
      } catch (err) {
        const e = toKubeApiError(err);
        this.o.metrics?.apiErrors.inc({ op: 'delete leases', status: String(e.status) });
        if (e.status !== 404)
          this.o.log.warn(
            { node, lease, err: e.message, status: e.status },
            'heartbeat lease of a removed node not deleted',
          );
      }
    }
  }
}
