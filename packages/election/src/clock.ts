/** Opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The only source of time and timers used by the election. Inject a {@link ManualClock} in tests
 * to run whole elections in virtual time.
 *
 * `now()` must not jump backwards or forwards (use a monotonic source): every decision compares
 * instants taken from the same clock on the same host, never instants from other hosts.
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
 * Real time: monotonic `performance.now()` anchored at `performance.timeOrigin`, so values are
 * close to Unix epoch milliseconds (useful in lease timestamps) but never step with NTP.
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * An `AbortSignal` that aborts after `ms` on `clock` (virtual time aware, unlike
 * `AbortSignal.timeout`). Call `cancel()` when the guarded work is done to drop the timer.
 */
export function clockTimeout(
  clock: Clock,
  ms: number,
  reason: () => unknown,
): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  const handle = clock.setTimeout(() => controller.abort(reason()), ms);
  return { signal: controller.signal, cancel: () => clock.clearTimeout(handle) };
}

/**
 * Runs `run` with a signal that aborts after `ms` on `clock`, and settles with the abort reason
 * at that instant even when `run` ignores its signal.
 */
export function withClockTimeout<T>(
  clock: Clock,
  ms: number,
  reason: () => unknown,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = clockTimeout(clock, ms, reason);
  return new Promise<T>((resolve, reject) => {
    timeout.signal.addEventListener('abort', () => reject(timeout.signal.reason), { once: true });
    run(timeout.signal).then(resolve, reject);
  }).finally(() => timeout.cancel());
}

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
