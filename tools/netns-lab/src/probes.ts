import { join } from 'node:path';
import { type ArpRecord, type Arrival, parseArpLine, parseArrival } from './analysis.js';
import type { LabPlan, PodPlan } from './plan.js';
import type { LabProcess, ProcessSet } from './processes.js';

/** Ports of the probe server in the `ext` namespace. */
export const PROBE_PORTS = { udp: 9000, connect: 9001, stream: 9002 } as const;

/** MAC of the external server's LAN interface (fixed in the topology). */
export const EXT_MAC = '02:00:00:00:01:00';

/** A pod-side stream event (error or (re)connection). */
export interface StreamEvent {
  t: number;
  k: string;
  error?: string;
  localPort?: number;
}

/** Where the probe records go. */
export interface ProbeSinks {
  arrivals: Arrival[];
  arp: ArpRecord[];
  streamEvents: StreamEvent[];
}

/**
 * Runs a probe at real-time priority (SCHED_FIFO 20, `chrt`): the gap at the server must measure
 * the network, not how long a 2-core machine that is starting containers took to schedule the
 * sender (gaps of 20-50 ms with no probe lost were scheduling, not the datapath).
 */
function realtime(command: string, args: string[]): { command: string; args: string[] } {
  return { command: 'chrt', args: ['--fifo', '20', command, ...args] };
}

/** Starts the probe server and the ARP/ND watcher in the `ext` namespace. */
export function startProbeServer(procs: ProcessSet, plan: LabPlan, helpers: string, sinks: ProbeSinks): void {
  procs.start({
    name: 'probe-server',
    ns: plan.ext,
    ...realtime(process.execPath, [
      join(helpers, 'probe-server.mjs'),
      plan.ext4,
      plan.ext6,
      String(PROBE_PORTS.udp),
      String(PROBE_PORTS.connect),
      String(PROBE_PORTS.stream),
    ]),
    onLine: (l) => {
      const a = parseArrival(l);
      if (a) sinks.arrivals.push(a);
    },
  });
  procs.start({
    name: 'arp-watch',
    ns: plan.ext,
    command: 'perl',
    args: [join(helpers, 'arp-watch.pl'), 'eth0', EXT_MAC, plan.ext4, plan.eip4, plan.eip6, '20'],
    onLine: (l) => {
      const r = parseArpLine(l, Date.now());
      if (r) sinks.arp.push(r);
    },
  });
}

/** Starts the probe client of one pod (UDP v4/v6, TCP connects and a TCP stream every `intervalMs`). */
export function startPodProbe(
  procs: ProcessSet,
  plan: LabPlan,
  pod: PodPlan,
  helpers: string,
  sinks: ProbeSinks,
  intervalMs: number,
): LabProcess {
  return procs.start({
    name: `probe-${pod.name}`,
    ns: pod.ns,
    ...realtime(process.execPath, [
      join(helpers, 'probe-client.mjs'),
      plan.ext4,
      plan.ext6,
      String(PROBE_PORTS.udp),
      String(PROBE_PORTS.connect),
      String(PROBE_PORTS.stream),
      String(intervalMs),
    ]),
    onLine: (l) => {
      try {
        const o = JSON.parse(l) as StreamEvent;
        if (o.k.startsWith('stream')) sinks.streamEvents.push(o);
      } catch {
        // not a record
      }
    },
  });
}
