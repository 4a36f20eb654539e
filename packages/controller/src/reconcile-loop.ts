import { type Clock, Coalescer, type Logger, toKubeApiError } from '@egressgateway/kube';

/** What {@link ReconcileLoop} needs. */
export interface ReconcileLoopOptions {
  clock: Clock;
  log: Logger;
  /** False while the caches are not synced: triggers are ignored. */
  ready(): boolean;
  /** One reconcile during the term `signal`; resolves to the instant it wants to run again. */
  reconcile(signal: AbortSignal): Promise<number>;
  /** Called with each reconcile's duration in seconds. */
  observeDuration?(seconds: number): void;
}

/**
 * Runs reconciles during a leadership term: one at a time, coalesced (every change while one runs
 * gives exactly one more), and at the instant the last one asked for (one timer; an earlier
 * request replaces a later one). A failed reconcile is logged and retried 1 s later. Nothing runs
 * outside a term or once its signal aborted.
 */
export class ReconcileLoop {
  private term: AbortSignal | undefined;
  private wakeTimer: unknown;
  private wakeAt = Number.POSITIVE_INFINITY;
  private readonly runner: Coalescer;

  constructor(private readonly o: ReconcileLoopOptions) {
    this.runner = new Coalescer(() => this.runOnce());
  }

  /** Asks for a reconcile soon (coalesced); ignored outside a term or before the caches synced. */
  trigger(): void {
    if (!this.term || this.term.aborted || !this.o.ready()) return;
    this.runner.trigger();
  }

  /**
   * Reconciles now, on every trigger and at each requested instant until `signal` aborts;
   * resolves then, with the timer cleared (a reconcile may still be finishing: see
   * {@link ReconcileLoop.whenIdle}).
   */
  async run(signal: AbortSignal): Promise<void> {
    this.term = signal;
    this.trigger();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.o.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = Number.POSITIVE_INFINITY;
  }

  /** Resolves when no reconcile is running or queued. */
  whenIdle(): Promise<void> {
    return this.runner.whenIdle();
  }

  private async runOnce(): Promise<void> {
    const signal = this.term;
    if (!signal || signal.aborted) return;
    const { clock, log } = this.o;
    const started = clock.now();
    try {
      this.wakeBy(await this.o.reconcile(signal));
    } catch (err) {
      const e = toKubeApiError(err);
      log.error({ err: e.message, status: e.status }, 'reconcile failed, retrying');
      this.wakeBy(clock.now() + 1000);
    }
    this.o.observeDuration?.((clock.now() - started) / 1000);
  }

  /** Asks for a reconcile at `at` at the latest (an earlier wake-up already set stays). */
  wakeBy(at: number): void {
    const { clock } = this.o;
    if (this.wakeAt <= at && this.wakeAt > clock.now()) return;
    clock.clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    // The engine's instants are exact: eviction happens at the first now > deadline, so wake 1 ms after.
    this.wakeTimer = clock.setTimeout(
      () => {
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.trigger();
      },
      Math.max(0, at - clock.now() + 1),
    );
  }
}
