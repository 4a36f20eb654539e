import { parseArgs } from 'node:util';
import { Lab } from './lab.js';
import { LiveView } from './live-view.js';
import { PreflightError } from './preflight.js';
import { DEMO_OUTAGE_SECONDS, FAULT_DESCRIPTIONS, FAULTS, type Fault, runScenario } from './scenario.js';
import { FAST_TIMING, type LabTiming, SEED_TIMING } from './settings.js';
import { formatSummary } from './summary.js';

/** Usage text of `npm run demo`. */
export const DEMO_USAGE = `usage: npm run demo -- [options]   (as root)

Builds a cluster of network namespaces (3 gateway nodes, 1 worker with a pod, an external server,
the API server and 2 controllers), injects a fault on the node that holds the egress IP, shows the
failover live and ends with a summary measured on the wire. Everything is deleted at the end.

options:
  --fault <name>        ${FAULTS.join(' | ')} (default agent-kill)
${FAULTS.map((f) => `                          ${f.padEnd(18)} ${FAULT_DESCRIPTIONS[f]}`).join('\n')}
  --outage <s>          length of apiserver-outage and api-partition-all (default ${DEMO_OUTAGE_SECONDS})
  --update <s>          tunnelUpdatePeriod (default ${FAST_TIMING.tunnelUpdatePeriod})
  --eviction <s>        eipEvictionTimeout (default ${FAST_TIMING.eipEvictionTimeout})
  --monitor <s>         tunnelMonitorPeriod (default ${FAST_TIMING.tunnelMonitorPeriod})
  --seed-timing         the seed document's 5/5/5 with 15/10/2 s leader election
  --detection <mode>    deadline | poll (upstream-style) (default deadline)
  --gateways <n>        gateway nodes (default 3)
  --controllers <n>     controller replicas (default 2)
  --images              run controllers and agents from the images of "npm run images" (podman)
  --peers               gateway peers on (a peer key Secret, agents talking over UDP: docs/peers.md);
                        with --images they are on already, as the chart's default values say
  --keep                leave the lab up after the summary for kubectl; Ctrl-C cleans up
  --run-dir <dir>       folder for logs and records
  --no-build            do not build stale packages first
  -h, --help`;

/** Thrown for bad command-line input. */
export class UsageError extends Error {
  readonly code = 'EGW_LAB_USAGE';
}

/** Parsed demo options. */
export interface DemoOptions {
  fault: Fault;
  /** Length of the apiserver-outage and api-partition-all faults (s). */
  outageSeconds: number;
  timing: LabTiming;
  detection: 'deadline' | 'poll';
  gateways: number;
  controllers: number;
  keep: boolean;
  runDir?: string;
  build: boolean;
  images: boolean;
  /**
   * Gateway peers on (the agents get a peer key and talk over UDP); undefined: the lab's default
   * (off for processes, the chart's default values with `images`).
   */
  peers?: true;
}

const num = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}"`);
  return n;
};

/** Parses the demo's arguments (pure); returns undefined for `--help`. */
export function parseDemoArgs(argv: string[]): DemoOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      fault: { type: 'string' },
      update: { type: 'string' },
      eviction: { type: 'string' },
      monitor: { type: 'string' },
      'seed-timing': { type: 'boolean' },
      outage: { type: 'string' },
      detection: { type: 'string' },
      gateways: { type: 'string' },
      controllers: { type: 'string' },
      keep: { type: 'boolean' },
      images: { type: 'boolean' },
      peers: { type: 'boolean' },
      'run-dir': { type: 'string' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const fault = (values.fault ?? 'agent-kill') as Fault;
  if (!FAULTS.includes(fault))
    throw new UsageError(`--fault must be one of ${FAULTS.join(', ')}, got "${fault}"`);
  const detection = values.detection ?? 'deadline';
  if (detection !== 'deadline' && detection !== 'poll')
    throw new UsageError(`--detection must be deadline or poll, got "${detection}"`);
  const base = values['seed-timing'] ? SEED_TIMING : FAST_TIMING;
  const gateways = num('gateways', values.gateways, 3);
  if (!Number.isInteger(gateways) || gateways < 2 || gateways > 9)
    throw new UsageError('--gateways must be an integer from 2 to 9 (a failover needs a second gateway)');
  const controllers = num('controllers', values.controllers, 2);
  if (fault.startsWith('leader') && controllers < 2)
    throw new UsageError(`--fault ${fault} needs 2 controllers`);
  return {
    fault,
    outageSeconds: num('outage', values.outage, DEMO_OUTAGE_SECONDS),
    timing: {
      ...base,
      tunnelUpdatePeriod: num('update', values.update, base.tunnelUpdatePeriod),
      eipEvictionTimeout: num('eviction', values.eviction, base.eipEvictionTimeout),
      tunnelMonitorPeriod: num('monitor', values.monitor, base.tunnelMonitorPeriod),
    },
    detection,
    gateways,
    controllers,
    keep: values.keep === true,
    ...(values['run-dir'] !== undefined ? { runDir: values['run-dir'] } : {}),
    build: values['no-build'] !== true,
    images: values.images === true,
    ...(values.peers === true ? { peers: true as const } : {}),
  };
}

/**
 * Runs the demo: start the lab, inject the fault, show the timeline, recover, print the summary,
 * clean up (also on Ctrl-C). Returns the process exit code.
 */
export async function runDemo(argv: string[]): Promise<number> {
  let o: DemoOptions | undefined;
  try {
    o = parseDemoArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${DEMO_USAGE}\n`);
    return 2;
  }
  if (!o) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  let lab: Lab | undefined;
  const view = new LiveView(() => lab);
  const onSignal = () => {
    process.stderr.write('\ninterrupted: deleting the lab\n');
    lab?.teardownSync();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    lab = await Lab.start({
      gateways: o.gateways,
      workers: 1,
      controllers: o.controllers,
      timing: o.timing,
      detection: o.detection,
      build: o.build,
      images: o.images,
      ...(o.peers ? { peers: true } : {}),
      ...(o.runDir !== undefined ? { runDir: o.runDir } : {}),
      onEvent: (e) => view.event(e),
    });
    process.stdout.write(`run folder (logs of every process): ${lab.runDir}\n`);
    if (o.images)
      process.stdout.write(`every API request (user, verb, resource), one JSON line each: ${lab.auditLog}\n`);
    view.start();
    const pending = runScenario(lab, o.fault, {
      outageMs: o.outageSeconds * 1000,
      onStep: (text) => {
        if (text.startsWith('fault:')) view.mark();
        view.line(text);
      },
    });
    const result = await pending;
    view.stop();
    process.stdout.write(`${formatSummary(result, lab.plan, lab.timing, o.detection)}\n`);
    if (o.keep) {
      process.stdout.write(
        `\nthe lab stays up. In another shell:\n  KUBECONFIG=${lab.hostKubeconfig} kubectl get egw,egt,egp -A\n  ip netns list | grep ${lab.plan.prefix}\npress Ctrl-C to delete it.\n`,
      );
      await new Promise(() => {});
    }
    return 0;
  } catch (err) {
    view.stop();
    if (err instanceof PreflightError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
    if (lab) process.stderr.write(`logs: ${lab.runDir}\n`);
    return 1;
  } finally {
    await lab?.teardown();
  }
}
