/**
 * A setting the engine, the simulator or the CLI cannot work with. Settings come from the program that
 * embeds the engine, not from the cluster: a wrong one is refused at once (a controller that accepted
 * `evictionTimeoutMs: NaN` would never evict anything), whereas bad cluster objects are reported as
 * problems and never throw.
 *
 * @example
 * ```ts
 * try {
 *   reconcileEgress(state, { evictionTimeoutMs: 3 }, Date.now());
 * } catch (e) {
 *   if (e instanceof EgressConfigError) console.error(e.field, e.message);
 *   // evictionTimeoutMs config.evictionTimeoutMs 3 looks like seconds: ...
 * }
 * ```
 */
export class EgressConfigError extends Error {
  /** Stable code for all configuration errors of this package. */
  readonly code = 'EGW_INVALID_CONFIG' as const;
  override readonly name = 'EgressConfigError';
  /** The setting that is wrong (`evictionTimeoutMs`, `nowMs`, `eipEvictionTimeout`, `trials`...). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/**
 * The smallest eviction timeout taken as milliseconds. Below it a value is refused as "looks like
 * seconds": the Helm values are seconds (upstream's defaults are 5 and 15, nobody sets more than a few
 * minutes), and no real timeout is this short, because a heartbeat must travel from the agent through
 * the API server and a watch to the controller (tens of milliseconds) at least once per timeout. A
 * value of 100 ms or more is taken as milliseconds.
 */
export const MIN_EVICTION_TIMEOUT_MS = 100;

/**
 * The largest period or timeout taken as seconds by the simulator (`tunnelUpdatePeriod`,
 * `tunnelMonitorPeriod`, `eipEvictionTimeout`): 1000 s and more looks like milliseconds.
 */
export const MAX_PERIOD_S = 1000;

function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'a list' : 'an object';
  return String(v);
}

/** An eviction timeout in ms: finite, positive, and not a number of seconds. */
export function checkEvictionTimeoutMs(value: unknown, path: string, field = 'evictionTimeoutMs'): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new EgressConfigError(
      field,
      `${path} must be a finite number of milliseconds (eipEvictionTimeout x 1000, e.g. 3000), got ${shown(value)}`,
    );
  if (value <= 0)
    throw new EgressConfigError(
      field,
      `${path} must be positive: a number of milliseconds such as 3000, got ${shown(value)}`,
    );
  if (value < MIN_EVICTION_TIMEOUT_MS)
    throw new EgressConfigError(
      field,
      `${path} ${value} looks like seconds: it is milliseconds, so ${value} s is ${value * 1000}; ` +
        `values below ${MIN_EVICTION_TIMEOUT_MS} ms are refused (no heartbeat reaches a controller that fast)`,
    );
  return value;
}

/** The current instant: a finite number of ms. */
export function checkNowMs(value: unknown, field = 'nowMs'): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new EgressConfigError(
      field,
      `${field} must be a finite number of milliseconds (the controller's clock, e.g. Date.now()), got ${shown(value)}`,
    );
  return value;
}

/** An optional boolean flag. */
export function checkFlag(value: unknown, path: string, field: string): void {
  if (value !== undefined && typeof value !== 'boolean')
    throw new EgressConfigError(field, `${path} must be true, false or left out, got ${shown(value)}`);
}

/** A period or timeout in seconds (simulator settings): finite, positive, below {@link MAX_PERIOD_S}. */
export function checkSeconds(value: unknown, path: string, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new EgressConfigError(
      field,
      `${path} must be a positive number of seconds (e.g. 3), got ${shown(value)}`,
    );
  if (value >= MAX_PERIOD_S)
    throw new EgressConfigError(
      field,
      `${path} ${value} looks like milliseconds: it is seconds, so ${value} ms is ${value / 1000}; ` +
        `values of ${MAX_PERIOD_S} s and more are refused`,
    );
  return value;
}

/** A finite number within `[min, max]` (or `[min, max)` when `maxExclusive`). */
export function checkRange(
  value: unknown,
  path: string,
  field: string,
  min: number,
  max: number,
  options: { readonly maxExclusive?: boolean; readonly integer?: boolean; readonly what?: string } = {},
): number {
  const inRange =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    (options.maxExclusive === true ? value < max : value <= max) &&
    (options.integer !== true || Number.isInteger(value));
  if (!inRange) {
    const range = `[${min}, ${max === Number.POSITIVE_INFINITY ? 'infinity' : max}${options.maxExclusive === true ? ')' : ']'}`;
    const what = options.what ?? (options.integer === true ? 'an integer' : 'a number');
    throw new EgressConfigError(field, `${path} must be ${what} in ${range}, got ${shown(value)}`);
  }
  return value as number;
}
