/**
 * Runs an async job one at a time, coalescing triggers: a trigger while the job is idle starts it
 * (in a microtask, so triggers of the same tick run it once); triggers while it runs, however
 * many, run it exactly once more after it finishes. The job always sees the latest state, and
 * never runs twice at once. Both apps drive their loop with it: the controller's reconcile and
 * the agent's datapath apply.
 *
 * The job should handle its own errors; a rejection is passed to `onError` and the loop goes on.
 *
 * @example
 * ```ts
 * const loop = new Coalescer(async () => reconcile(), { onError: (err) => log.error({ err }, 'reconcile failed') });
 * informers.onChange = () => loop.trigger();
 * await loop.whenIdle(); // nothing running or queued
 * ```
 */
export class Coalescer {
  private active = false;
  private again = false;
  private idle: Array<() => void> = [];

  constructor(
    private readonly job: () => Promise<void>,
    private readonly options: { onError?: (err: unknown) => void } = {},
  ) {}

  /** True while the job runs or a run is queued. */
  get running(): boolean {
    return this.active;
  }

  /** Runs the job soon, or once more after the current run if one is in progress. */
  trigger(): void {
    if (this.active) {
      this.again = true;
      return;
    }
    this.active = true;
    queueMicrotask(() => void this.loop());
  }

  /** Resolves when no run is in progress or queued. */
  whenIdle(): Promise<void> {
    return this.active ? new Promise((resolve) => this.idle.push(resolve)) : Promise.resolve();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.job();
        } catch (err) {
          this.options.onError?.(err);
        }
      } while (this.again);
    } finally {
      this.active = false;
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
