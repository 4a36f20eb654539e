import type { NodeDatapathState } from '@egressgateway/datapath';
import { type Clock, Coalescer, type Logger, sleep } from '@egressgateway/kube';
import type { Binder } from './binder.js';
import type { AgentMetrics } from './metrics.js';

/** What {@link DatapathApplier} needs. */
export interface DatapathApplierOptions {
  clock: Clock;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  binder: Pick<Binder, 'apply'>;
  /** False while the caches are not synced: applies are not scheduled. */
  ready(): boolean;
  /** The node's desired datapath from the current caches. */
  desired(): NodeDatapathState;
  /** Lease (ms from now) for EIPs bound now: what is left before the fence deadline. */
  leaseMs(): number;
}

/**
 * Makes the node's datapath follow the caches: one apply at a time, coalesced, and nothing sent
 * when the desired state is the one last applied. The first change of a quiet period is applied
 * at once; while changes keep coming, each computation waits as long as the previous one took, so
 * a burst (a thousand policies created) cannot hold the event loop and delay heartbeats. A failed
 * apply is retried 1 s later. Newly bound EIPs are leased up to the fence deadline in the bind
 * itself.
 */
export class DatapathApplier {
  private readonly runner: Coalescer;
  private lastApplied = '';
  private held = 0;
  private lastComputeMs = 0;
  private lastComputeEnd = 0;

  constructor(private readonly o: DatapathApplierOptions) {
    this.runner = new Coalescer(() => this.applyOnce());
  }

  /** EIPs bound by the last successful apply. */
  get heldEips(): number {
    return this.held;
  }

  /** Applies soon (coalesced) if the desired state changed. */
  schedule(): void {
    if (!this.o.ready()) return;
    this.runner.trigger();
  }

  /** Applies soon even if the desired state looks unchanged (after a withdraw, a fence change). */
  reapply(): void {
    this.lastApplied = '';
    this.schedule();
  }

  /** Resolves when no apply is running or queued. */
  whenApplied(): Promise<void> {
    return this.runner.whenIdle();
  }

  private async applyOnce(): Promise<void> {
    const { clock, metrics, log } = this.o;
    // Under a burst, leave the event loop (heartbeats!) at least as long as the last computation took.
    const sinceLast = clock.now() - this.lastComputeEnd;
    if (sinceLast < this.lastComputeMs) await sleep(clock, Math.min(500, this.lastComputeMs - sinceLast));
    const t1 = clock.now();
    const desired = this.o.desired();
    this.lastComputeEnd = clock.now();
    this.lastComputeMs = this.lastComputeEnd - t1;
    const key = JSON.stringify(desired);
    if (key === this.lastApplied) return;
    const t0 = clock.now();
    try {
      const report = await this.o.binder.apply(desired, { leaseMs: this.o.leaseMs() });
      metrics?.applyDuration.observe((clock.now() - t0) / 1000);
      if (report.ok) {
        this.lastApplied = key;
        this.held = desired.eips.length;
        metrics?.eipsHeld.set(desired.eips.length);
        log.info(
          {
            eips: desired.eips,
            steering: desired.steering.length,
            snat: desired.snat.length,
            ms: Math.round(clock.now() - t0),
            ...(report.applied
              ? { ops: report.applied.map((a) => `${a.text} (${Math.round(a.ms)} ms)`) }
              : {}),
            ...(report.observeMs !== undefined ? { observeMs: Math.round(report.observeMs) } : {}),
          },
          'datapath applied',
        );
      } else {
        metrics?.applyFailures.inc();
        log.warn({ report }, 'datapath apply incomplete, will retry');
        this.retryLater();
      }
    } catch (err) {
      metrics?.applyFailures.inc();
      log.error({ err: (err as Error).message }, 'datapath apply failed, will retry');
      this.retryLater();
    }
  }

  private retryLater(): void {
    this.o.clock.setTimeout(() => this.reapply(), 1000);
  }
}
