import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile } from './analysis.js';
import { tryRun } from './exec.js';
import { findRepoRoot, Lab } from './lab.js';
import { FAULTS, type Fault, runScenario, type ScenarioResult } from './scenario.js';
import { FAST_TIMING, type LabTiming, SEED_TIMING } from './settings.js';

/** One measured trial, reduced to numbers. */
export interface Trial {
  /** Data-plane failover: longest IPv4 silence at the server (from the EIP). */
  failoverMs: number;
  /** Fault -> the gateway status names the new holder. */
  detectionMs: number | undefined;
  /** Status change -> first probe from the EIP through the new holder. */
  reprogramMs: number | undefined;
  duplicates: number;
  /** Nobody answered ARP for the EIP for this long during the handover (negative: overlap). */
  unownedMs: number | undefined;
  /** The server saw only the EIP afterwards. */
  eipAfter: boolean;
}

/** Reduces a scenario result to a trial (pure). */
export function toTrial(r: ScenarioResult, eip4: string): Trial {
  const gap = r.gaps.u4;
  const changedAt = r.detectionMs === undefined ? undefined : r.faultAt + r.detectionMs;
  return {
    failoverMs: gap?.ms ?? Number.POSITIVE_INFINITY,
    detectionMs: r.detectionMs,
    reprogramMs: gap && changedAt !== undefined && !gap.open ? Math.max(0, gap.to - changedAt) : undefined,
    duplicates: r.duplicates.length,
    unownedMs: r.arpHandover?.ms,
    eipAfter: r.sourcesAfter.length === 1 && r.sourcesAfter[0] === eip4,
  };
}

/** A row of the benchmark table. */
export interface BenchRow {
  setting: string;
  mode: string;
  fault: string;
  trials: Trial[];
}

const fmt = (x: number | undefined): string =>
  x === undefined ? 'n/a' : Number.isFinite(x) ? (x / 1000).toFixed(2) : 'never';

/** The Markdown table of a benchmark (pure). `ratio` compares poll with deadline at the same setting and fault. */
export function benchTable(rows: readonly BenchRow[]): string {
  const lines = [
    '| setting | detection | fault | n | failover p50 / p99 / max (s) | detection p50 (s) | reprogramming p50 (s) | EIP unowned on the LAN p50 / max (s) | duplicate-owner rounds | EIP source after | poll / deadline (p50) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const f = r.trials.map((t) => t.failoverMs);
    const det = r.trials.flatMap((t) => (t.detectionMs === undefined ? [] : [t.detectionMs]));
    const rep = r.trials.flatMap((t) => (t.reprogramMs === undefined ? [] : [t.reprogramMs]));
    const unowned = r.trials.flatMap((t) => (t.unownedMs === undefined ? [] : [t.unownedMs]));
    const base = rows.find((x) => x.setting === r.setting && x.fault === r.fault && x.mode === 'deadline');
    const ratio =
      r.mode === 'poll' && base
        ? (percentile(f, 50) ?? 0) /
          (percentile(
            base.trials.map((t) => t.failoverMs),
            50,
          ) ?? 1)
        : undefined;
    lines.push(
      `| ${r.setting} | ${r.mode} | ${r.fault} | ${r.trials.length} | ${fmt(percentile(f, 50))} / ${fmt(percentile(f, 99))} / ${fmt(Math.max(...f))} | ${fmt(percentile(det, 50))} | ${fmt(percentile(rep, 50))} | ${fmt(percentile(unowned, 50))} / ${fmt(unowned.length ? Math.max(...unowned) : undefined)} | ${r.trials.reduce((a, t) => a + t.duplicates, 0)} | ${r.trials.filter((t) => t.eipAfter).length}/${r.trials.length} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}x`} |`,
    );
  }
  return lines.join('\n');
}

/** Runs `trials` of each fault on one lab per (setting, mode). */
export async function runBench(o: {
  trials: number;
  faults: Fault[];
  settings: Array<[string, LabTiming]>;
  modes: Array<'deadline' | 'poll'>;
  log: (s: string) => void;
}): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [setting, timing] of o.settings) {
    for (const mode of o.modes) {
      const lab = await Lab.start({ timing, detection: mode });
      try {
        for (const fault of o.faults) {
          const row: BenchRow = { setting, mode, fault, trials: [] };
          rows.push(row);
          for (let i = 0; i < o.trials; i++) {
            const r = await runScenario(lab, fault);
            const t = toTrial(r, lab.plan.eip4);
            row.trials.push(t);
            o.log(
              `${setting} ${mode} ${fault} #${i + 1}: failover ${fmt(t.failoverMs)} s, detection ${fmt(t.detectionMs)} s, duplicates ${t.duplicates}, EIP after ${t.eipAfter}`,
            );
          }
        }
      } finally {
        await lab.teardown();
      }
    }
  }
  return rows;
}

function machine(repoRoot: string): string {
  const commit = tryRun('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']).stdout.trim();
  const dirty = tryRun('git', ['-C', repoRoot, 'status', '--porcelain']).stdout.trim() !== '';
  return `Linux ${release()}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, commit ${commit}${dirty ? ' (with uncommitted changes)' : ''}, ${new Date().toISOString()}`;
}

/** `npm run bench -w netns-lab [-- --trials 20 --out <file>]`; returns the exit code. */
export async function runBenchCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      trials: { type: 'string' },
      faults: { type: 'string' },
      settings: { type: 'string' },
      modes: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -w netns-lab -- [--trials 20] [--faults agent-kill,node-down] [--settings fast,seed] [--modes deadline,poll] [--out docs/benchmarks.md]\n',
    );
    return 0;
  }
  const trials = Number(values.trials ?? 20);
  const faults = (values.faults ?? 'agent-kill,node-down').split(',') as Fault[];
  const bad = faults.filter((f) => !FAULTS.includes(f));
  if (!Number.isInteger(trials) || trials < 1 || bad.length > 0) {
    process.stderr.write(`bad --trials or --faults (${bad.join(', ')})\n`);
    return 2;
  }
  const presets: Record<string, LabTiming> = {
    fast: { ...FAST_TIMING, tunnelUpdatePeriod: 0.25, eipEvictionTimeout: 1, fenceMargin: 0.25 },
    seed: SEED_TIMING,
  };
  const settings = (values.settings ?? 'fast,seed').split(',').map((s) => {
    const t = presets[s];
    if (!t) throw new Error(`unknown setting ${s} (fast, seed)`);
    return [s === 'seed' ? 'seed 5/5/5' : 'fast 0.25/1', t] as [string, LabTiming];
  });
  const modes = (values.modes ?? 'deadline,poll').split(',') as Array<'deadline' | 'poll'>;
  const repoRoot = findRepoRoot();
  const rows = await runBench({
    trials,
    faults,
    settings,
    modes,
    log: (s) => process.stdout.write(`${s}\n`),
  });
  const table = benchTable(rows);
  const out = values.out ?? join(repoRoot, 'docs', 'benchmarks.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    [
      '# Failover benchmark (netns lab)',
      '',
      `Machine: ${machine(repoRoot)}.`,
      '',
      'Command: `npm run bench -w netns-lab' +
        (argv.length ? ` -- ${argv.join(' ')}` : '') +
        '` (as root). Each trial injects the fault on the EIP holder of a 3-gateway lab, waits for the move, recovers the node and checks there is no move-back. Failover = longest silence of the 10 ms UDP probe at the external server counting only packets from the EIP; detection = fault -> gateway status names the new holder; reprogramming = status change -> first probe through the new holder. Settings are update/eviction in seconds (fast uses fence margin 0.25 s).',
      '',
      table,
      '',
      'keepalived reference row: not measured here (keepalived is not installed on this machine; `apt-get install keepalived`). See UPSTREAM.md for the numbers measured earlier in namespaces.',
      '',
    ].join('\n'),
  );
  process.stdout.write(`\n${table}\n\nwritten to ${out}\n`);
  return 0;
}
