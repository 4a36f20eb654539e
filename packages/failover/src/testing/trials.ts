import { checkRange, EgressConfigError } from '../config-error.js';
import { createPrng } from './prng.js';
import {
  checkSimulationSettings,
  type Fault,
  type SimulationSettings,
  simulateFailover,
} from './simulator.js';

const FAULT_KINDS: ReadonlyArray<Fault['kind']> = ['crash', 'partition', 'pause', 'drain'];

/** Checks trial options, throwing {@link EgressConfigError} naming the field. */
function checkTrialOptions(options: TrialOptions): void {
  if (typeof options !== 'object' || options === null)
    throw new EgressConfigError('options', 'options must be an object like { trials: 1000 }');
  checkRange(options.trials, 'options.trials', 'trials', 1, 10_000_000, { integer: true });
  if (options.nodes !== undefined)
    checkRange(options.nodes, 'options.nodes', 'nodes', 1, 65_000, { integer: true });
  if (options.eips !== undefined)
    checkRange(options.eips, 'options.eips', 'eips', 1, 65_000, { integer: true });
  if (options.faultDurationMs !== undefined)
    checkRange(
      options.faultDurationMs,
      'options.faultDurationMs',
      'faultDurationMs',
      0,
      Number.POSITIVE_INFINITY,
    );
  if (options.fault !== undefined && !FAULT_KINDS.includes(options.fault))
    throw new EgressConfigError(
      'fault',
      `options.fault must be one of ${FAULT_KINDS.join(', ')}, got ${String(options.fault)}`,
    );
}

/** Options of {@link simulateTrials}. */
export interface TrialOptions {
  readonly trials: number;
  /** Gateway nodes per trial. Default 3. */
  readonly nodes?: number;
  /** EIPs (one policy each). Default 3. */
  readonly eips?: number;
  /** The fault injected in each trial, on the busiest node. Default `crash`. */
  readonly fault?: Fault['kind'];
  /** Heal after this long (partition, pause). Default: never. */
  readonly faultDurationMs?: number;
}

/** Percentiles in ms. */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Aggregate of {@link simulateTrials}. */
export interface TrialSummary {
  readonly trials: number;
  readonly detection: Percentiles | null;
  readonly failover: Percentiles | null;
  /** Trials in which the fault was never detected or its EIPs never moved. */
  readonly notFailedOver: number;
  /** Fraction of trials with at least one false eviction of a healthy node. */
  readonly falseEvictionRate: number;
  /** False evictions per node-hour of healthy operation. */
  readonly falseEvictionsPerNodeHour: number;
  /** Trials with a window in which two nodes held the same EIP, and the longest window. */
  readonly duplicateOwnerTrials: number;
  readonly maxDuplicateOwnerMs: number;
}

/** Percentiles (nearest rank) of a list of samples, or `null` when empty. */
export function percentiles(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] as number;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: s[s.length - 1] as number,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/**
 * Runs many independent {@link simulateFailover} trials (seeds derived from `settings.seed`), each with one
 * fault on the busiest node at a random instant after warm-up, and summarises detection and failover
 * time, false evictions and duplicate ownership.
 *
 * @example
 * ```ts
 * const s = simulateTrials(
 *   { tunnelUpdatePeriod: 1, tunnelMonitorPeriod: 5, eipEvictionTimeout: 3, mode: 'deadline', jitter: 0.5 },
 *   { trials: 1000 },
 * );
 * s.failover?.max; // worst-case failover in ms
 * ```
 */
export function simulateTrials(settings: SimulationSettings, options: TrialOptions): TrialSummary {
  checkSimulationSettings(settings);
  checkTrialOptions(options);
  const update = settings.tunnelUpdatePeriod * 1000;
  const monitor = settings.tunnelMonitorPeriod * 1000;
  const eviction = settings.eipEvictionTimeout * 1000;
  const nodes = options.nodes ?? 3;
  const seeds = createPrng(settings.seed ?? 1);
  const detection: number[] = [];
  const failover: number[] = [];
  let notFailedOver = 0;
  let falseTrials = 0;
  let falseTotal = 0;
  let healthyMs = 0;
  let dupTrials = 0;
  let maxDup = 0;
  for (let i = 0; i < options.trials; i++) {
    const seed = Math.floor(seeds.next() * 2 ** 32);
    const warmup = eviction + monitor + 2 * update + 1_000;
    const atMs = Math.round(warmup + createPrng(seed ^ 0x5bd1e995).next() * Math.max(update, monitor));
    const durationMs =
      atMs + (options.faultDurationMs ?? 0) + 2 * eviction + 2 * monitor + 3 * update + 2_000;
    const fault: Fault = {
      atMs,
      kind: options.fault ?? 'crash',
      ...(options.faultDurationMs !== undefined ? { durationMs: options.faultDurationMs } : {}),
    };
    const report = simulateFailover(
      { ...settings, seed },
      { nodes, eips: options.eips ?? 3, durationMs, faults: [fault] },
    );
    const f = report.faults[0];
    if (f?.detectionMs !== null && f?.detectionMs !== undefined) detection.push(f.detectionMs);
    if (f?.failoverMs !== null && f?.failoverMs !== undefined) failover.push(f.failoverMs);
    else notFailedOver++;
    if (report.falseEvictions.length > 0) falseTrials++;
    falseTotal += report.falseEvictions.length;
    healthyMs += (nodes - 1) * durationMs + atMs;
    if ((f?.duplicateOwnerMs ?? 0) > 0) dupTrials++;
    maxDup = Math.max(maxDup, f?.duplicateOwnerMs ?? 0);
  }
  return {
    trials: options.trials,
    detection: percentiles(detection),
    failover: percentiles(failover),
    notFailedOver,
    falseEvictionRate: options.trials === 0 ? 0 : falseTrials / options.trials,
    falseEvictionsPerNodeHour: healthyMs === 0 ? 0 : falseTotal / (healthyMs / 3_600_000),
    duplicateOwnerTrials: dupTrials,
    maxDuplicateOwnerMs: maxDup,
  };
}
