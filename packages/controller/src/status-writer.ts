import type { EgressClusterPolicy, EgressGateway, EgressPolicy, EgressTunnel } from '@egressgateway/crds';
import {
  type EgressChanges,
  type EgressState,
  type EgressWrite,
  egressWrites,
} from '@egressgateway/failover';
import {
  type Clock,
  EGRESS_GATEWAYS,
  EGRESS_TUNNELS,
  type KubeClient,
  type Logger,
  type OwnWrites,
  type ResourceRef,
  toKubeApiError,
  updateStatus,
} from '@egressgateway/kube';
import { forEachLimited } from './limited.js';
import type { ControllerMetrics } from './metrics.js';
import type { Obj } from './objects.js';
import type { WriteLog } from './write-log.js';

/** Status writes of one kind in flight at once (per reconcile). */
const WRITE_CONCURRENCY = 16;

/**
 * This replica's read-your-writes view of each kind it writes status to: objects as it last wrote
 * them, until the informer delivers that version or a newer one. The next reconcile must start
 * from its own writes, or it would redo a move (and repeat its event) against a stale status.
 */
export interface OwnCopies {
  tunnels: OwnWrites<EgressTunnel & Obj>;
  gateways: OwnWrites<EgressGateway & Obj>;
  policies: OwnWrites<EgressPolicy & Obj>;
  clusterPolicies: OwnWrites<EgressClusterPolicy & Obj>;
}

/** What {@link StatusWriter} needs. */
export interface StatusWriterOptions {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  metrics?: ControllerMetrics | undefined;
  writeLog: WriteLog;
  own: OwnCopies;
  /**
   * Runs before a tunnel's eviction is written: guards it against a heartbeat that landed after
   * the decision when heartbeats live outside the tunnel (the heartbeat Lease's eviction mark,
   * see HeartbeatLeases). False: the eviction must be decided again (treated as a conflict).
   */
  beforeEviction?(tunnel: string): Promise<boolean>;
}

/** Outcome of {@link StatusWriter.write}. */
export interface WriteOutcome {
  /**
   * Every write of the decision went out (none refused by a conflict, the term still running):
   * its policy statuses may follow.
   */
  complete: boolean;
  /** Some object changed under the decision (409): decide again once the informers have it. */
  conflicted: boolean;
}

/**
 * Writes the failover engine's tunnel phases and gateway statuses, in the order that keeps EIPs
 * from having two owners, and records each write in the replica's own copies and write log.
 * Policy statuses follow in the background (PolicyStatusWrites).
 */
export class StatusWriter {
  constructor(private readonly o: StatusWriterOptions) {}

  /**
   * Writes `changes`, decided at `decidedAt` on the state `decidedOn`. Evictions go first, each
   * against the very objects the decision saw: the heartbeat Lease first (`beforeEviction` marks
   * it, its resourceVersion the precondition), then the tunnel (its resourceVersion the
   * precondition; it guards agents that still heartbeat through the tunnel). A heartbeat that
   * landed after those objects fails the write with 409, and nothing of this decision is placed;
   * the next reconcile (20 ms later) judges with the heartbeat. Only once every eviction is
   * written do its moves go out, so an agent whose heartbeat is acknowledged after a move was
   * decided reads the eviction in the response and lets go (see the agent). This costs one
   * round trip on a failover. Then, concurrently: the other tunnel phases, and the gateway
   * statuses (placement; policy statuses are the caller's, off this path: see PolicyStatusWrites).
   * Writes of one kind go out together (bounded): sequential writes made every reconcile of a mass
   * failover as long as the sum of its round trips, and deadlines that fell due meanwhile waited
   * for all of them. Nothing starts once `signal` aborted. Rejects with
   * the first error other than a conflict, once every started write settled.
   */
  async write(
    changes: EgressChanges,
    decidedAt: number,
    signal: AbortSignal,
    decidedOn: EgressState,
  ): Promise<WriteOutcome> {
    const { own, metrics: m } = this.o;
    const stop = () => signal.aborted;
    const outcome: WriteOutcome = { complete: false, conflicted: false };
    const seen = new Map(decidedOn.tunnels.map((t) => [t.tunnel.metadata?.name ?? '', t.tunnel]));
    // The engine's write order (evictions, other phases, gateways, policies); see egressWrites.
    const writes = egressWrites(changes);
    const of = <K extends EgressWrite['kind']>(kind: K) =>
      writes.flatMap((w) =>
        w.kind === kind ? [w.change as Extract<EgressWrite, { kind: K }>['change']] : [],
      );
    const evictions = of('eviction');
    let evictionsWritten = true;
    await forEachLimited(
      evictions,
      WRITE_CONCURRENCY,
      async (t) => {
        if (this.o.beforeEviction !== undefined && !(await this.o.beforeEviction(t.name))) {
          outcome.conflicted = true;
          evictionsWritten = false;
          return;
        }
        const ok = await this.writeOne(
          outcome,
          EGRESS_TUNNELS,
          own.tunnels,
          t.name,
          undefined,
          seen.get(t.name) as (EgressTunnel & Obj) | undefined,
          (cur) => (cur.status?.phase === t.phase ? undefined : { phase: t.phase }),
        );
        if (!ok) evictionsWritten = false;
      },
      stop,
    );
    if (!evictionsWritten || stop()) return outcome;
    const phases = forEachLimited(
      of('phase'),
      WRITE_CONCURRENCY,
      async (t) => {
        await this.writeOne(
          outcome,
          EGRESS_TUNNELS,
          own.tunnels,
          t.name,
          undefined,
          own.tunnels.get(t.name),
          (cur) => (cur.status?.phase === t.phase ? undefined : { phase: t.phase }),
        );
      },
      stop,
    );
    // Placement does not wait for the other phase writes. Policy statuses are not written here:
    // the controller hands them to PolicyStatusWrites once this resolved complete.
    const placement = forEachLimited(
      of('gateway'),
      WRITE_CONCURRENCY,
      async (g) => {
        // The engine computed nodeList and ipUsage; write them unless this object has them already.
        await this.writeOne(
          outcome,
          EGRESS_GATEWAYS,
          own.gateways,
          g.name,
          undefined,
          own.gateways.get(g.name),
          (cur) =>
            sameJson(cur.status?.nodeList ?? [], g.nodeList) && sameJson(cur.status?.ipUsage ?? {}, g.ipUsage)
              ? undefined
              : { nodeList: g.nodeList, ipUsage: g.ipUsage },
        );
        m?.decisionToWritten.observe((this.o.clock.now() - decidedAt) / 1000);
      },
      stop,
    );
    const [phaseResult, placementResult] = await Promise.allSettled([phases, placement]);
    if (phaseResult.status === 'rejected') throw phaseResult.reason;
    if (placementResult.status === 'rejected') throw placementResult.reason;
    outcome.complete = !stop();
    return outcome;
  }

  /** One status write; false (and `outcome.conflicted`) on a conflict, other errors thrown. */
  private async writeOne<T extends Obj & { status?: unknown }>(
    outcome: WriteOutcome,
    ref: ResourceRef,
    mine: OwnWrites<T>,
    name: string,
    namespace: string | undefined,
    cached: T | undefined,
    compute: (cur: T) => object | undefined,
  ): Promise<boolean> {
    const { client, metrics, log, writeLog } = this.o;
    try {
      // One attempt: a conflict means the object changed under the decision (a heartbeat landed,
      // a spec changed), so the decision itself is recomputed from the newer cache, not just the patch.
      const r = await updateStatus(client, ref, name, namespace, cached, compute, 1);
      if (r.written) {
        mine.record(r.object);
        metrics?.writes.inc({ resource: ref.plural });
        writeLog.record(ref.plural, name, namespace, (r.object as { status?: unknown }).status);
      }
      return true;
    } catch (err) {
      const e = toKubeApiError(err);
      metrics?.apiErrors.inc({ op: `patch ${ref.plural}/status`, status: String(e.status) });
      if (e.status !== 409) throw e;
      log.debug({ resource: ref.plural, name }, 'status changed meanwhile, recomputing');
      outcome.conflicted = true;
      return false;
    }
  }
}

/** Whether two status values are the same (written by the engine in a canonical order). */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
