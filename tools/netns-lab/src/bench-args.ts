import { parseArgs } from 'node:util';
import { KEEPALIVED_FAULTS, KeepalivedOptionError, parseAdverts } from './keepalived.js';
import { FAULTS, type Fault } from './scenario.js';
import { FAST_TIMING, type LabTiming, SEED_TIMING } from './settings.js';

/**
 * What moves the EIP in a benchmark row: our controller (two detection modes), our controller with
 * the agents' gateway peers on (`peers`: deadline detection, the peers take over and the controller
 * records their claim), or keepalived.
 */
export const BENCH_MODES = ['deadline', 'poll', 'peers', 'keepalived'] as const;
/** One of {@link BENCH_MODES}. */
export type BenchMode = (typeof BENCH_MODES)[number];
/** The modes that run our controller and agents. */
export type ControllerBenchMode = Exclude<BenchMode, 'keepalived'>;

/**
 * The benchmark's settings presets (issue 10): fast = update 0.25 s, eviction 1 s; seed = 5/5/5;
 * lab = update 0.5 s, eviction 2 s (the lab tests' timing); slow-api = update 10 s, eviction 30 s.
 */
export const BENCH_SETTINGS: Record<string, { label: string; timing: LabTiming }> = {
  fast: {
    label: 'fast 0.25/1',
    timing: { ...FAST_TIMING, tunnelUpdatePeriod: 0.25, eipEvictionTimeout: 1, fenceMargin: 0.25 },
  },
  seed: { label: 'seed 5/5/5', timing: SEED_TIMING },
  // The lab tests' and the demo's timing: an eviction timeout (2 s) clearly above the agents'
  // default peer dead interval (1 s), so rows with peers show what the peers add.
  lab: { label: 'lab 0.5/2', timing: FAST_TIMING },
  // API heartbeats ten times rarer than the default 1 s (issue 21): with peers a dead node is still
  // replaced within the peers' dead interval; without them only after 30 s.
  'slow-api': {
    label: 'slow-api 10/30',
    timing: { ...FAST_TIMING, tunnelUpdatePeriod: 10, eipEvictionTimeout: 30, fenceMargin: 1 },
  },
};

/** A parsed benchmark command line. */
export interface BenchArgs {
  trials: number;
  /** Faults of the controller rows. */
  faults: Fault[];
  /** Faults of the keepalived rows: the requested ones keepalived can run. */
  keepalivedFaults: Fault[];
  settings: Array<{ label: string; timing: LabTiming }>;
  /** Rows of our controller: its detection modes, and `peers` (deadline detection, gateway peers on). */
  modes: ControllerBenchMode[];
  /** keepalived advert intervals (s); empty when keepalived is not among the modes. */
  adverts: number[];
  out: string | undefined;
  /** Run our apps from the images of `npm run images` (podman), as `npm run demo -- --images`. */
  images: boolean;
  help: boolean;
  /** Things the caller should print (e.g. a fault keepalived rows skip). */
  notes: string[];
}

/** A command line the benchmark refuses. */
export class BenchArgsError extends Error {
  readonly code = 'EGW_LAB_BENCH_ARGS';
}

/** The usage text of `npm run bench -w netns-lab`. */
export const BENCH_USAGE = `usage: npm run bench -w netns-lab -- [options]   (as root)
  --trials N          trials per row (default 20)
  --faults LIST       comma-separated faults, or "all" (default agent-kill,node-down):
                      ${FAULTS.join(', ')}
  --settings LIST     fast (update 0.25 s, eviction 1 s), seed (5/5/5), lab (update 0.5 s,
                      eviction 2 s, as the lab tests), slow-api (update 10 s, eviction 30 s: API
                      heartbeats 10x rarer than the default 1 s) (default fast,seed)
  --modes LIST        deadline, poll (our controller's detection), peers (deadline detection with the
                      agents' gateway peers on), keepalived (VRRP reference rows)
                      (default deadline,poll, plus keepalived when it is installed)
  --adverts LIST      keepalived advert intervals in seconds, VRRPv3 (default 1,0.1)
  --out FILE          also write the Markdown report (title, machine, command, tables) to FILE;
                      docs/benchmarks.md is curated by hand, so nothing is written by default
  --images            run the controllers and agents from the images of "npm run images" (podman)
keepalived rows run the requested faults among ${KEEPALIVED_FAULTS.join(', ')} (one lab per advert interval).
`;

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/**
 * Parses the benchmark's arguments (pure). `keepalivedInstalled` decides the default modes; asking
 * for keepalived rows without keepalived is an error.
 *
 * @example
 * ```ts
 * parseBenchArgs(['--trials', '3', '--modes', 'keepalived', '--adverts', '0.1'], { keepalivedInstalled: true });
 * ```
 */
export function parseBenchArgs(argv: readonly string[], env: { keepalivedInstalled: boolean }): BenchArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        trials: { type: 'string' },
        faults: { type: 'string' },
        settings: { type: 'string' },
        modes: { type: 'string' },
        adverts: { type: 'string' },
        out: { type: 'string' },
        images: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new BenchArgsError((err as Error).message);
  }
  const str = (k: string): string | undefined =>
    typeof values[k] === 'string' ? (values[k] as string) : undefined;
  const notes: string[] = [];
  const trials = Number(str('trials') ?? 20);
  if (!Number.isInteger(trials) || trials < 1)
    throw new BenchArgsError(`--trials wants a positive integer, got ${str('trials')}`);
  const faultText = str('faults') ?? 'agent-kill,node-down';
  const faults = (faultText === 'all' ? [...FAULTS] : list(faultText)) as Fault[];
  const badFaults = faults.filter((f) => !FAULTS.includes(f));
  if (faults.length === 0 || badFaults.length > 0)
    throw new BenchArgsError(`unknown fault(s) ${badFaults.join(', ')} (${FAULTS.join(', ')}, or all)`);
  const settingNames = list(str('settings') ?? 'fast,seed');
  const settings = settingNames.map((s) => {
    const p = BENCH_SETTINGS[s];
    if (!p) throw new BenchArgsError(`unknown setting ${s} (${Object.keys(BENCH_SETTINGS).join(', ')})`);
    return p;
  });
  const modeText = str('modes');
  const modes = list(modeText ?? (env.keepalivedInstalled ? 'deadline,poll,keepalived' : 'deadline,poll'));
  const badModes = modes.filter((m) => !(BENCH_MODES as readonly string[]).includes(m));
  if (modes.length === 0 || badModes.length > 0)
    throw new BenchArgsError(`unknown mode(s) ${badModes.join(', ')} (${BENCH_MODES.join(', ')})`);
  if (modeText === undefined && !env.keepalivedInstalled)
    notes.push('keepalived is not installed (Debian package keepalived): no keepalived reference rows');
  const withKeepalived = modes.includes('keepalived');
  if (withKeepalived && !env.keepalivedInstalled)
    throw new BenchArgsError('--modes keepalived needs keepalived (Debian package keepalived)');
  let adverts: number[] = [];
  try {
    adverts = withKeepalived ? parseAdverts(str('adverts') ?? '1,0.1') : [];
  } catch (err) {
    if (err instanceof KeepalivedOptionError) throw new BenchArgsError(err.message);
    throw err;
  }
  const keepalivedFaults = withKeepalived
    ? faults.filter((f) => (KEEPALIVED_FAULTS as readonly string[]).includes(f))
    : [];
  const skipped = withKeepalived ? faults.filter((f) => !keepalivedFaults.includes(f)) : [];
  if (skipped.length > 0)
    notes.push(`keepalived rows skip ${skipped.join(', ')} (they need our controller or its API server)`);
  if (withKeepalived && keepalivedFaults.length === 0)
    throw new BenchArgsError(`none of the faults can run under keepalived (${KEEPALIVED_FAULTS.join(', ')})`);
  return {
    trials,
    faults,
    keepalivedFaults,
    settings,
    modes: modes.filter((m): m is ControllerBenchMode => m !== 'keepalived'),
    adverts,
    out: str('out'),
    images: values.images === true,
    help: values.help === true,
    notes,
  };
}
