import { type Clock, type Logger, toKubeApiError } from '@egressgateway/kube';

/** What {@link LatestWriter} needs. */
export interface LatestWriterOptions<T> {
  clock: Clock;
  log: Logger;
  /** What the API holds now, as cached (read once, before the first write). */
  current(): T;
  /** Writes one value (resolves once the API server took it). */
  write(value: T): Promise<unknown>;
  /** True when two values need no write between them (default `===`). */
  same?(a: T, b: T): boolean;
  /** Called after each write landed (for a log line). */
  written?(value: T): void;
  /** Names the value in the warning of a failed write (`<what> write failed, retrying`). */
  what: string;
  /** First retry delay after a failed write (default 250 ms; doubles up to 5 s). */
  retryMs?: number;
}

const MAX_RETRY_MS = 5_000;

/**
 * Keeps one value in the API equal to the newest one asked for: a write only when it differs from
 * what was last written (or read), one write at a time, the newest value wins. A failed write (API
 * server unreachable) is retried with a backoff, never given up. For small facts the agent reports
 * about itself (its peer claims, its peer condition), which lag the wire and must never block it.
 */
export class LatestWriter<T> {
  private desired: T | undefined;
  private hasDesired = false;
  /** The value the API holds (as far as this writer knows); unset: not read yet. */
  private written: { value: T } | undefined;
  private busy = false;
  private retryTimer: unknown;
  private retryPending = false;
  private failures = 0;
  private stopped = false;

  constructor(private readonly o: LatestWriterOptions<T>) {}

  /** The value to hold now. */
  set(value: T): void {
    if (this.stopped) return;
    this.desired = value;
    this.hasDesired = true;
    this.kick();
  }

  /** The value last written (or read); `undefined` before the first `set`. */
  get value(): T | undefined {
    return this.written?.value;
  }

  /** Stops writing (pending retries are dropped). */
  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.retryTimer);
  }

  private kick(): void {
    if (this.stopped || this.busy || this.retryPending || !this.hasDesired) return;
    this.written ??= { value: this.o.current() };
    const value = this.desired as T;
    if ((this.o.same ?? Object.is)(value, this.written.value)) return;
    this.busy = true;
    this.o
      .write(value)
      .then(
        () => {
          this.written = { value };
          this.failures = 0;
          this.o.written?.(value);
        },
        (err: unknown) => {
          this.failures++;
          const delay = Math.min(MAX_RETRY_MS, (this.o.retryMs ?? 250) * 2 ** (this.failures - 1));
          const e = toKubeApiError(err);
          this.o.log.warn(
            { err: e.message, status: e.status, retryMs: delay },
            `${this.o.what} write failed, retrying`,
          );
          this.retryPending = true;
          this.retryTimer = this.o.clock.setTimeout(() => {
            this.retryPending = false;
            this.kick();
          }, delay);
        },
      )
      .finally(() => {
        this.busy = false;
        this.kick();
      });
  }
}
