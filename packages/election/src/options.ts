import { InvalidOptionsError } from './errors.js';

/** The three client-go durations, in milliseconds. */
export interface ElectionTiming {
  /** How long a candidate waits, after it last saw the record change, before taking it. */
  readonly leaseDurationMs: number;
  /** How long a leader keeps its term without a successful renewal before it steps down. */
  readonly renewDeadlineMs: number;
  /** Interval between attempts (renewals by the leader, acquisitions by candidates). */
  readonly retryPeriodMs: number;
  /** Bound on one lock operation; defaults to `retryPeriodMs`. */
  readonly requestTimeoutMs: number;
}

/** client-go's (and controller-runtime's) defaults: 15 s / 10 s / 2 s. */
export const DEFAULT_TIMING: ElectionTiming = Object.freeze({
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  requestTimeoutMs: 2_000,
});

/**
 * Candidates space their attempts by `retryPeriodMs × [1, JITTER_FACTOR)` so they do not hit
 * the lock in lock-step; the renew deadline must leave room for at least one such retry.
 */
export const JITTER_FACTOR = 1.2;

function positive(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionsError(field, `must be a finite number of milliseconds > 0, got ${String(value)}`);
  }
  return value;
}

/**
 * Fills defaults and checks the client-go constraints
 * `leaseDurationMs > renewDeadlineMs > retryPeriodMs × JITTER_FACTOR` and
 * `0 < requestTimeoutMs ≤ renewDeadlineMs`.
 *
 * @throws InvalidOptionsError naming the offending field and how to fix it.
 * @example
 * ```ts
 * resolveTiming({ leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 1000 });
 * ```
 */
export function resolveTiming(input: Partial<ElectionTiming> = {}): ElectionTiming {
  const leaseDurationMs = positive(
    'leaseDurationMs',
    input.leaseDurationMs ?? DEFAULT_TIMING.leaseDurationMs,
  );
  const renewDeadlineMs = positive(
    'renewDeadlineMs',
    input.renewDeadlineMs ?? DEFAULT_TIMING.renewDeadlineMs,
  );
  const retryPeriodMs = positive('retryPeriodMs', input.retryPeriodMs ?? DEFAULT_TIMING.retryPeriodMs);
  const requestTimeoutMs = positive('requestTimeoutMs', input.requestTimeoutMs ?? retryPeriodMs);
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new InvalidOptionsError(
      'leaseDurationMs',
      `must be greater than renewDeadlineMs (${renewDeadlineMs}), got ${leaseDurationMs}: the difference is the safety margin against clock drift`,
    );
  }
  if (!(renewDeadlineMs > retryPeriodMs * JITTER_FACTOR)) {
    throw new InvalidOptionsError(
      'renewDeadlineMs',
      `must be greater than retryPeriodMs × ${JITTER_FACTOR} (${retryPeriodMs * JITTER_FACTOR}), got ${renewDeadlineMs}: lower retryPeriodMs or raise renewDeadlineMs`,
    );
  }
  if (requestTimeoutMs > renewDeadlineMs) {
    throw new InvalidOptionsError(
      'requestTimeoutMs',
      `must not exceed renewDeadlineMs (${renewDeadlineMs}), got ${requestTimeoutMs}`,
    );
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs, requestTimeoutMs };
}

/**
 * The largest relative clock-rate error (each host's clock runs at `1 ± ρ` of real time) under
 * which a leader's term always ends before another candidate can take the lease:
 * `renewDeadline × (1 + ρ) / (1 − ρ) < leaseDuration`, i.e. `ρ < (L − R) / (L + R)`.
 * 20 % with the defaults. Clock offsets (skew) do not matter at all.
 */
export function maxToleratedDrift(
  timing: Pick<ElectionTiming, 'leaseDurationMs' | 'renewDeadlineMs'>,
): number {
  return (
    (timing.leaseDurationMs - timing.renewDeadlineMs) / (timing.leaseDurationMs + timing.renewDeadlineMs)
  );
}
