/** Opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Time and timers for everything that waits: informers, the apps' loops, fencing. Inject a
 * virtual clock in tests to run them without waiting. `now()` must be monotonic (no NTP steps):
 * instants are only ever compared with instants of the same clock on the same host.
 *
 * Structurally the same interface as `@egressgateway/election`'s `Clock`, so one clock object
 * drives both the election and these packages.
 *
 * @example
 * ```ts
 * const clock: Clock = systemClock;
 * const handle = clock.setTimeout(() => console.log('fired at', clock.now()), 100);
 * clock.clearTimeout(handle);
 * ```
 */
export interface Clock {
  /** Milliseconds on a monotonic clock (fractions allowed). */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now on this clock. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or already fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Real time: `performance.now()` anchored at `performance.timeOrigin`, monotonic and close to Unix
 * epoch milliseconds (so it can be written as a timestamp) without ever stepping with NTP.
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Resolves after `ms` on `clock`; rejects with the signal's reason if `signal` aborts first (or
 * already has).
 *
 * @example
 * ```ts
 * await sleep(systemClock, 250, AbortSignal.timeout(1000));
 * ```
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const cancel = (): void => {
      clock.clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', cancel);
      resolve();
    }, ms);
    signal?.addEventListener('abort', cancel, { once: true });
  });
}
