import { parseArgs } from 'node:util';
import { EgressConfigError } from './config-error.js';
import type { Fault, SimulationSettings } from './testing/simulator.js';
import { simulateTrials, type TrialSummary } from './testing/trials.js';
import { validateTiming } from './timing.js';

const USAGE = `usage:
  egw-failover simulate [--update S] [--monitor S] [--eviction S] [--mode poll|deadline]
                        [--jitter F] [--trials N] [--nodes N] [--eips N]
                        [--fault crash|partition|pause|drain] [--fault-duration MS]
                        [--latency-min MS] [--latency-max MS] [--skew MS] [--loss P] [--seed N] [--json]
  egw-failover tuning [--trials N] [--jitter F] [--seed N] [--json]
      the tuning table: upstream 5/5/5 and 5/15/5 (poll) against 1/3/5 (deadline)
  egw-failover --help

  S: seconds (> 0, < 1000); MS: milliseconds (>= 0); --trials, --nodes, --eips: integers >= 1;
  --loss: probability that a heartbeat write fails, in [0, 1); --jitter: >= 0 (heartbeat period x (1 + u x F))`;

const LEGEND = `columns:
  settings: update/eviction/monitor periods in seconds and the controller mode (poll: upstream, checks every monitor period; deadline: wakes at the engine's deadline)
  detect: fault to the controller's decision (tunnel HeartbeatTimeout or EIPs moved), p50/p99 over the trials that detected it
  failover: fault to the last EIP of the failed node bound on another node, p50/p99/max over the trials that failed over
  no failover: trials in which the EIPs never moved (not detected, or no node left); their times are not in the percentiles
  false evictions: trials with at least one healthy node evicted, and evictions per node-hour of healthy operation
  dup owner: trials in which two nodes held one EIP at once, and the longest such window`;

/** One row of the tuning table. */
interface Row {
  readonly label: string;
  readonly settings: SimulationSettings;
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`;
}

function table(rows: ReadonlyArray<{ label: string; summary: TrialSummary }>): string {
  const header = [
    'settings',
    'detect p50',
    'detect p99',
    'failover p50',
    'failover p99',
    'failover max',
    'no failover',
    'false evictions',
    'dup owner',
  ];
  const body = rows.map(({ label, summary: s }) => [
    label,
    fmt(s.detection?.p50),
    fmt(s.detection?.p99),
    fmt(s.failover?.p50),
    fmt(s.failover?.p99),
    fmt(s.failover?.max),
    `${s.notFailedOver} of ${s.trials}`,
    `${(s.falseEvictionRate * 100).toFixed(1)}% trials, ${s.falseEvictionsPerNodeHour.toFixed(1)}/node-h`,
    s.duplicateOwnerTrials === 0
      ? 'none'
      : `${s.duplicateOwnerTrials} trials, max ${fmt(s.maxDuplicateOwnerMs)}`,
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** Limits of a numeric flag. */
interface Limits {
  readonly min?: number;
  readonly max?: number;
  readonly maxExclusive?: boolean;
  readonly integer?: boolean;
  readonly minExclusive?: boolean;
}

function num(value: string | undefined, fallback: number, name: string, limits: Limits = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const min = limits.min ?? 0;
  const max = limits.max ?? Number.POSITIVE_INFINITY;
  const ok =
    value.trim() !== '' &&
    Number.isFinite(n) &&
    (limits.minExclusive === true ? n > min : n >= min) &&
    (limits.maxExclusive === true ? n < max : n <= max) &&
    (limits.integer !== true || Number.isInteger(n));
  if (!ok) {
    const what = limits.integer === true ? 'an integer' : 'a number';
    const low = limits.minExclusive === true ? `(${min}` : `[${min}`;
    const high =
      max === Number.POSITIVE_INFINITY ? 'infinity)' : `${max}${limits.maxExclusive === true ? ')' : ']'}`;
    throw new CliUsageError(`--${name} must be ${what} in ${low}, ${high}, got ${value}`);
  }
  return n;
}

/** Periods in seconds: positive and below 1000 (a larger value is milliseconds given by mistake). */
const SECONDS: Limits = { min: 0, minExclusive: true, max: 1000, maxExclusive: true };
const COUNT: Limits = { min: 1, integer: true };

/** Bad command line; the CLI prints it with the usage and exits with code 2. */
export class CliUsageError extends Error {
  readonly code = 'EGW_FAILOVER_USAGE';
  override readonly name = 'CliUsageError';
}

/**
 * Runs the `egw-failover` command line with `argv` (without node and script) and writes to `out`.
 * Returns the exit code (0 ok, 2 usage error).
 */
export function runCli(argv: readonly string[], out: (text: string) => void): number {
  const first = argv[0];
  if (first === '--help' || first === '-h' || first === 'help') {
    out(`${USAGE}\n`);
    return 0;
  }
  try {
    return run(argv, out);
  } catch (error) {
    if (
      error instanceof CliUsageError ||
      error instanceof EgressConfigError ||
      (error instanceof TypeError && 'code' in error)
    ) {
      out(`error: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

function run(argv: readonly string[], out: (text: string) => void): number {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      update: { type: 'string' },
      monitor: { type: 'string' },
      eviction: { type: 'string' },
      mode: { type: 'string' },
      jitter: { type: 'string' },
      trials: { type: 'string' },
      nodes: { type: 'string' },
      eips: { type: 'string' },
      fault: { type: 'string' },
      'fault-duration': { type: 'string' },
      'latency-min': { type: 'string' },
      'latency-max': { type: 'string' },
      skew: { type: 'string' },
      loss: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    out(`${USAGE}\n`);
    return 0;
  }
  if (command === undefined) {
    out(`${USAGE}\n`);
    return 2;
  }
  const trials = num(values.trials, command === 'tuning' ? 2000 : 1000, 'trials', COUNT);
  const jitter = num(values.jitter, 0.5, 'jitter');
  const seed = num(values.seed, 1, 'seed', { min: Number.NEGATIVE_INFINITY, integer: true });
  const latencyMin = num(values['latency-min'], 5, 'latency-min');
  const env = {
    jitter,
    seed,
    writeLatencyMs: [
      latencyMin,
      num(values['latency-max'], Math.max(50, latencyMin), 'latency-max', { min: latencyMin }),
    ] as const,
    clockSkewMs: num(values.skew, 0, 'skew'),
    heartbeatLossRate: num(values.loss, 0, 'loss', { max: 1, maxExclusive: true }),
  };
  const fault = (values.fault ?? 'crash') as Fault['kind'];
  if (!['crash', 'partition', 'pause', 'drain'].includes(fault))
    throw new CliUsageError(`unknown --fault ${fault}`);
  const options = {
    trials,
    nodes: num(values.nodes, 3, 'nodes', COUNT),
    eips: num(values.eips, 3, 'eips', COUNT),
    fault,
    ...(values['fault-duration'] !== undefined
      ? { faultDurationMs: num(values['fault-duration'], 0, 'fault-duration') }
      : {}),
  };
  let rows: Row[];
  if (command === 'simulate') {
    const mode = values.mode ?? 'deadline';
    if (mode !== 'poll' && mode !== 'deadline')
      throw new CliUsageError(`--mode must be poll or deadline, got ${mode}`);
    const settings: SimulationSettings = {
      tunnelUpdatePeriod: num(values.update, 1, 'update', SECONDS),
      tunnelMonitorPeriod: num(values.monitor, 5, 'monitor', SECONDS),
      eipEvictionTimeout: num(values.eviction, 3, 'eviction', SECONDS),
      mode,
      ...env,
    };
    rows = [
      {
        label: `${settings.tunnelUpdatePeriod}/${settings.eipEvictionTimeout}/${settings.tunnelMonitorPeriod} ${mode}`,
        settings,
      },
    ];
  } else if (command === 'tuning') {
    rows = [
      {
        label: 'seed 5/5/5 poll',
        settings: {
          tunnelUpdatePeriod: 5,
          eipEvictionTimeout: 5,
          tunnelMonitorPeriod: 5,
          mode: 'poll',
          ...env,
        },
      },
      {
        label: 'upstream 5/15/5 poll',
        settings: {
          tunnelUpdatePeriod: 5,
          eipEvictionTimeout: 15,
          tunnelMonitorPeriod: 5,
          mode: 'poll',
          ...env,
        },
      },
      {
        label: '5/5/5 deadline',
        settings: {
          tunnelUpdatePeriod: 5,
          eipEvictionTimeout: 5,
          tunnelMonitorPeriod: 5,
          mode: 'deadline',
          ...env,
        },
      },
      {
        label: '1/3/5 poll',
        settings: {
          tunnelUpdatePeriod: 1,
          eipEvictionTimeout: 3,
          tunnelMonitorPeriod: 5,
          mode: 'poll',
          ...env,
        },
      },
      {
        label: 'recommended 1/3/5 deadline',
        settings: {
          tunnelUpdatePeriod: 1,
          eipEvictionTimeout: 3,
          tunnelMonitorPeriod: 5,
          mode: 'deadline',
          ...env,
        },
      },
    ];
  } else {
    throw new CliUsageError(`unknown command ${command}`);
  }
  const results = rows.map((r) => ({
    label: r.label,
    settings: r.settings,
    warnings: validateTiming(r.settings, { mode: r.settings.mode }).map((w) => w.code),
    summary: simulateTrials(r.settings, options),
  }));
  if (values.json === true) {
    out(`${JSON.stringify({ options: { ...options, ...env }, results }, null, 2)}\n`);
    return 0;
  }
  out(
    `${options.trials} trials per row, fault ${fault} on the busiest of ${options.nodes} nodes, ` +
      `jitter ${jitter}, write latency ${env.writeLatencyMs[0]}-${env.writeLatencyMs[1]} ms, seed ${seed}; ` +
      'settings are update/eviction/monitor in seconds\n\n',
  );
  out(`${table(results)}\n\n${LEGEND}\n`);
  for (const r of results)
    if (r.warnings.length > 0) out(`\n${r.label}: validateTiming warns ${r.warnings.join(', ')}`);
  out('\n');
  return 0;
}
