import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname } from 'node:path';
import { percentile } from './analysis.js';
import { BENCH_USAGE, BenchArgsError, type ControllerBenchMode, parseBenchArgs } from './bench-args.js';
import { tryRun } from './exec.js';
import { keepalivedLabel } from './keepalived.js';
import { findRepoRoot, Lab, type LabOptions } from './lab.js';
import { type Fault, runScenario, type ScenarioPhases, type ScenarioResult } from './scenario.js';
import type { LabTiming } from './settings.js';
import { VrrpGroup } from './vrrp-group.js';

/** One measured trial, reduced to numbers. */
export interface Trial {
  /** Data-plane failover: longest IPv4 silence at the server (from the EIP). */
  failoverMs: number;
  /** Fault -> the gateway status names the new holder. */
  detectionMs: number | undefined;
  /** Status change -> first probe from the EIP through the new holder. */
  reprogramMs: number | undefined;
  duplicates: number;
  /**
   * Nobody answered ARP for the EIP for this long during the handover (negative: overlap); when
   * the EIP stayed on its holder, the longest time nobody answered after the fault.
   */
  unownedMs: number | undefined;
  /** The server saw only the EIP afterwards. */
  eipAfter: boolean;
  /** The old holder still had the EIP when it was recovered (did not let go by itself). */
  oldStillBound: boolean | undefined;
  /** Wall time of the trial (ms). */
  durationMs: number;
  /** Where that time went. */
  phases: ScenarioPhases;
  /** The EIP stayed on the new holder after the old one was recovered (undefined: no recovery). */
  stayed: boolean | undefined;
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
    unownedMs: r.arpHandover?.ms ?? (r.to === r.from ? r.arpSilence?.ms : undefined),
    eipAfter: r.sourcesAfter.length === 1 && r.sourcesAfter[0] === eip4,
    oldStillBound: r.oldStillBound,
    durationMs: r.durationMs,
    phases: r.phases,
    stayed: r.holderAfterRecovery === undefined ? undefined : r.holderAfterRecovery === r.to,
  };
}

/** `probes 0.62 + baseline 1.00 + ...` in seconds (pure). */
export function phaseText(p: ScenarioPhases): string {
  return Object.entries(p)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`)
    .join(' + ');
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
    '| setting | detection | fault | n | failover p50 / p99 / max (s) | detection p50 (s) | reprogramming p50 (s) | EIP unowned on the LAN p50 / max (s) | duplicate-owner rounds | old holder let go by itself | no move-back | EIP source after | poll / deadline (p50) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const f = r.trials.map((t) => t.failoverMs);
    const det = r.trials.flatMap((t) => (t.detectionMs === undefined ? [] : [t.detectionMs]));
    const rep = r.trials.flatMap((t) => (t.reprogramMs === undefined ? [] : [t.reprogramMs]));
    const unowned = r.trials.flatMap((t) => (t.unownedMs === undefined ? [] : [t.unownedMs]));
    const judged = r.trials.filter((t) => t.oldStillBound !== undefined);
    const letGo = judged.length
      ? `${judged.filter((t) => t.oldStillBound === false).length}/${judged.length}`
      : 'n/a';
    const stayed = r.trials.filter((t) => t.stayed !== undefined);
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
      `| ${r.setting} | ${r.mode} | ${r.fault} | ${r.trials.length} | ${fmt(percentile(f, 50))} / ${fmt(percentile(f, 99))} / ${fmt(Math.max(...f))} | ${fmt(percentile(det, 50))} | ${fmt(percentile(rep, 50))} | ${fmt(percentile(unowned, 50))} / ${fmt(unowned.length ? Math.max(...unowned) : undefined)} | ${r.trials.reduce((a, t) => a + t.duplicates, 0)} | ${letGo} | ${stayed.length ? `${stayed.filter((t) => t.stayed).length}/${stayed.length}` : 'n/a'} | ${r.trials.filter((t) => t.eipAfter).length}/${r.trials.length} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}x`} |`,
    );
  }
  return lines.join('\n');
}

/** One lab of a benchmark run and the rows it fills. */
interface BenchLab {
  setting: string;
  mode: string;
  faults: Fault[];
  options: LabOptions;
}

/**
 * Where the trials' wall time goes, per row (pure): medians of the trial length and of each phase,
 * in seconds. The full benchmark is hundreds of trials; this says which wait to look at.
 */
export function trialTimeTable(rows: readonly BenchRow[]): string {
  const keys = ['probes', 'baseline', 'move', 'settle', 'recovery'] as const;
  const lines = [
    `| setting | detection | fault | n | trial p50 / max (s) | ${keys.map((k) => `${k} p50`).join(' | ')} |`,
    `|---|---|---|---|---|${keys.map(() => '---|').join('')}`,
  ];
  for (const r of rows) {
    const d = r.trials.map((t) => t.durationMs);
    const med = (k: (typeof keys)[number]) =>
      fmt(
        percentile(
          r.trials.map((t) => t.phases[k]),
          50,
        ),
      );
    lines.push(
      `| ${r.setting} | ${r.mode} | ${r.fault} | ${r.trials.length} | ${fmt(percentile(d, 50))} / ${fmt(d.length ? Math.max(...d) : undefined)} | ${keys.map(med).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Runs `trials` of each fault on one lab per (setting, controller mode), then one keepalived lab
 * per advert interval (the reference rows: same topology, probe and watcher).
 */
export async function runBench(o: {
  trials: number;
  faults: Fault[];
  settings: Array<[string, LabTiming]>;
  modes: ControllerBenchMode[];
  /** keepalived advert intervals (s); none: no reference rows. */
  adverts?: number[];
  /** Faults of the keepalived rows (default: `faults`). */
  keepalivedFaults?: Fault[];
  /** Our apps from the images (podman); the rows' setting says "images". */
  images?: boolean;
  log: (s: string) => void;
}): Promise<BenchRow[]> {
  const labs: BenchLab[] = [];
  for (const [setting, timing] of o.settings)
    for (const mode of o.modes)
      labs.push({
        setting: o.images ? `${setting} images` : setting,
        mode,
        faults: o.faults,
        options: {
          timing,
          // peers: deadline detection, and the agents' gateway peers decide take-overs first; the
          // other modes run without peers (in images mode too, where the chart turns them on).
          detection: mode === 'peers' ? 'deadline' : mode,
          peers: mode === 'peers',
          ...(o.images ? { images: true } : {}),
        },
      });
  for (const advertSeconds of o.adverts ?? [])
    labs.push({
      setting: keepalivedLabel(advertSeconds),
      mode: 'VRRPv3',
      faults: o.keepalivedFaults ?? o.faults,
      options: { keepalived: { advertSeconds } },
    });
  const rows: BenchRow[] = [];
  for (const b of labs) {
    const lab = await Lab.start(b.options);
    try {
      for (const fault of b.faults) {
        const row: BenchRow = { setting: b.setting, mode: b.mode, fault, trials: [] };
        rows.push(row);
        for (let i = 0; i < o.trials; i++) {
          const r = await runScenario(lab, fault);
          const t = toTrial(r, lab.plan.eip4);
          row.trials.push(t);
          o.log(
            `${b.setting} ${b.mode} ${fault} #${i + 1}: failover ${fmt(t.failoverMs)} s, detection ${fmt(t.detectionMs)} s, duplicates ${t.duplicates}, old holder let go ${t.oldStillBound === undefined ? 'n/a' : !t.oldStillBound}, no move-back ${t.stayed ?? 'n/a'}, EIP after ${t.eipAfter}, trial ${fmt(t.durationMs)} s (${phaseText(t.phases)})`,
          );
        }
      }
    } finally {
      await lab.teardown();
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
  const keepalived = VrrpGroup.version();
  let a: ReturnType<typeof parseBenchArgs>;
  try {
    a = parseBenchArgs(argv, { keepalivedInstalled: keepalived !== undefined });
  } catch (err) {
    if (!(err instanceof BenchArgsError)) throw err;
    process.stderr.write(`${err.message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  for (const n of a.notes) process.stdout.write(`note: ${n}\n`);
  const repoRoot = findRepoRoot();
  const rows = await runBench({
    trials: a.trials,
    faults: a.faults,
    settings: a.settings.map((s) => [s.label, s.timing] as [string, LabTiming]),
    modes: a.modes,
    adverts: a.adverts,
    keepalivedFaults: a.keepalivedFaults,
    images: a.images,
    log: (s) => process.stdout.write(`${s}\n`),
  });
  const table = benchTable(rows);
  process.stdout.write(`\n${table}\n\n${trialTimeTable(rows)}\n`);
  const out = a.out;
  if (out === undefined) return 0;
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
        '` (as root). Each trial injects the fault on the EIP holder of a 3-gateway lab, waits for the move, recovers the node and checks there is no move-back. Failover = longest silence of the 10 ms UDP probe at the external server counting only packets from the EIP; detection = fault -> gateway status names the new holder; reprogramming = status change -> first probe through the new holder; old holder let go by itself = it no longer had the EIP on its LAN interface 1.5 s after traffic resumed, before the lab recovered it; no move-back = the EIP was still on the new holder eviction + 2 s after the recovery. Settings are update/eviction in seconds (fast uses fence margin 0.25 s).',
      '',
      table,
      '',
      'Trial length (probe restart, 1 s baseline, fault to move, traffic back + 1.5 s settle, recovery + move-back check):',
      '',
      trialTimeTable(rows),
      '',
      a.adverts.length > 0
        ? `keepalived reference rows (${keepalived ?? 'keepalived'}, VRRPv3, one instance holding the EIP pair and the worker's next-hop pair, all nodes BACKUP with nopreempt, distinct priorities, static SNAT to the EIP on every gateway): detection = fault -> the new master has the EIP on its LAN interface; agent-kill = SIGKILL of the master's keepalived (VRRP child and parent), which leaves its VIPs behind. A restarted keepalived removes stale VIPs, so the duplicate-owner rounds of a kill end when the lab recovers the node: they measure the trial, not keepalived; "old holder let go by itself" is the answer.`
        : 'keepalived reference rows: not measured in this run (`--modes keepalived`, Debian package keepalived).',
      '',
    ].join('\n'),
  );
  process.stdout.write(`written to ${out}\n`);
  return 0;
}
