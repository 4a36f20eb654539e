/** Exponential backoff settings. */
export interface BackoffOptions {
  /** First delay, ms (default 200). */
  initialMs?: number;
  /** Upper bound, ms (default 30 000). */
  maxMs?: number;
  /** Growth factor per attempt (default 2). */
  factor?: number;
  /** Fraction of the delay randomised, 0..1 (default 0.2): spreads reconnects of many clients. */
  jitter?: number;
}

/**
 * Delay before retry number `attempt` (1-based): `initial * factor^(attempt-1)`, capped, with
 * ± jitter. `random` is injectable so tests are deterministic.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const { initialMs = 200, maxMs = 30_000, factor = 2, jitter = 0.2 } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
}
