import {
  type DuplicateWindow,
  duplicateWindows,
  type Gap,
  longestArpSilence,
  longestGap,
  type OwnershipGap,
  ownershipGap,
  sourcesBetween,
  streamConnections,
} from './analysis.js';
import { sleep } from './exec.js';
import { KEEPALIVED_FAULTS } from './keepalived.js';
import type { Lab } from './lab.js';

/**
 * How long the `apiserver-outage` and `api-partition-all` faults last unless told (`outageMs`),
 * in eviction timeouts: long enough that every heartbeat deadline passes. The demo's `--outage`
 * sets the length (default {@link DEMO_OUTAGE_SECONDS}).
 */
export const APISERVER_OUTAGE_EVICTIONS = 3;

/** The demo's default outage length for `apiserver-outage` and `api-partition-all` (s). */
export const DEMO_OUTAGE_SECONDS = 60;

/** The faults the lab injects (always on the node that holds the EIP, or on the leader). */
export const FAULTS = [
  'agent-kill',
  'agent-freeze',
  'node-down',
  'node-freeze',
  'partition',
  'lan-link-down',
  'planned',
  'leader-kill',
  'leader-stop',
  'apiserver-restart',
  'apiserver-outage',
  'api-partition-all',
  'lan-partition',
  'split',
  'majority-down',
  'rolling-update',
] as const;

/** One of {@link FAULTS}. */
export type Fault = (typeof FAULTS)[number];

/** What each fault does, for `--help` and the summary. */
export const FAULT_DESCRIPTIONS: Record<Fault, string> = {
  'agent-kill': "SIGKILL of the holder's agent (the node stays up)",
  'agent-freeze': "SIGSTOP of the holder's agent (the node stays up)",
  'node-down': "the holder's links go down (LAN and management: the node is gone)",
  'node-freeze': "SIGSTOP of the holder's agent plus its links down",
  partition: "the holder's path to the API server is cut; its LAN stays up",
  'lan-link-down': "the holder's LAN link goes down; its path to the API server stays up",
  planned: "SIGTERM of the holder's agent (planned handover)",
  'leader-kill': "SIGKILL of the leading controller and of the holder's agent at once",
  'leader-stop': "SIGTERM of the leading controller (releases the lease) and SIGKILL of the holder's agent",
  'apiserver-restart':
    'SIGKILL of the API server, restarted at once on the same data dir (no failover expected)',
  'apiserver-outage':
    'the API server frozen (SIGSTOP) for the outage time, then thawed (no failover expected)',
  'api-partition-all':
    'every node cut from the API server (the controllers are not) for the outage time, then reconnected',
  'lan-partition':
    'the holder cut from the other gateway nodes on the LAN (IP); its API path and the rest of the LAN stay up',
  split:
    'the gateway group split 2|1 on the LAN: the holder keeps one peer, the third gateway node is cut from both',
  'majority-down':
    "every other gateway node's links go down (a zone outage the holder outlives; with peers it answers again once the controller evicted them)",
  'rolling-update':
    'every gateway agent replaced one at a time (SIGTERM, new agent, wait for Ready), as a DaemonSet rolling update',
};

/**
 * The longest probe silence a rolling update of every gateway agent may cause (ms): each agent
 * hands its EIPs over before it stops, so the wire should barely notice.
 */
export const ROLLING_UPDATE_GAP_MS = 50;

/** The gap bound the demo's summary reports for a fault (ms): eviction + 1 s, or the rolling update's. */
export function gapBoundMs(fault: Fault, eipEvictionTimeoutSeconds: number): number {
  return fault === 'rolling-update' ? ROLLING_UPDATE_GAP_MS : eipEvictionTimeoutSeconds * 1000 + 1000;
}

/**
 * True for faults after which the EIP must move. A rolling update may move it and back (each
 * node is replaced once, the holder among them): what counts there is the gap on the wire. With
 * gateway `peers` on, a holder cut from its peers (`lan-partition`) loses its right to answer, the
 * majority takes over and the controller records their claim: the EIP moves.
 */
export const faultMovesEip = (f: Fault, peers = false): boolean =>
  !STAYING_FAULTS.includes(f) || (peers && f === 'lan-partition');

/**
 * Faults after which the EIP must stay where it is. Without gateway peers, agents learn nothing
 * from a LAN cut between gateway nodes (both partitions keep the API server). When every agent is
 * cut from the API server, the controllers see no heartbeat from anyone, take it for an API
 * outage and evict nobody, while each agent fences: the EIP stays in the status but is unanswered
 * until the partition heals (gateway peers are meant to keep it answered). When every other
 * gateway node goes down (`majority-down`) the holder stays the holder; with peers it stops
 * answering without a peer majority and answers again once the controller evicted the others.
 */
const STAYING_FAULTS: readonly Fault[] = [
  'apiserver-restart',
  'apiserver-outage',
  'api-partition-all',
  'lan-partition',
  'split',
  'majority-down',
  'rolling-update',
];

/** The measured outcome of one fault. */
export interface ScenarioResult {
  fault: Fault;
  /** Node that held the EIP when the fault was injected. */
  from: string;
  /** Node that held it afterwards (per the gateway status). */
  to: string | undefined;
  faultAt: number;
  /** Fault -> the gateway status names a new holder (ms). */
  detectionMs: number | undefined;
  /** Longest silence of each probe stream around the fault, counting only packets from the EIP. */
  gaps: { u4?: Gap; u6?: Gap; c4?: Gap; s4?: Gap };
  /** Sources the server saw in the second before the fault, and after the recovery settled. */
  sourcesBefore: string[];
  sourcesAfter: string[];
  /** ARP ownership handover on the LAN: how long nobody answered for the EIP (negative: overlap). */
  arpHandover: OwnershipGap | undefined;
  /** Longest time from the fault to the end in which nobody answered ARP for the EIP. */
  arpSilence: Gap;
  /** Rounds in which two MACs answered ARP for the EIP (from the fault to the end). */
  duplicates: DuplicateWindow[];
  /** The TCP stream kept one connection (same source port) and the pod saw no error. */
  streamSurvived: boolean;
  streamBefore: string[];
  streamAfter: string[];
  /** Holder after the failed node came back and the eviction timeout passed (no move-back: === to). */
  holderAfterRecovery: string | undefined;
  /**
   * The old holder still had the EIP on its LAN interface when the lab was about to recover it
   * (1.5 s after traffic resumed through the new holder): it did not let go by itself. Undefined
   * when the fault does not move the EIP.
   */
  oldStillBound: boolean | undefined;
  /** Wall time of the whole scenario, probe restart to the end of the move-back check (ms). */
  durationMs: number;
  /** Where the wall time went (ms spent in each phase, in order), to keep trials short. */
  phases: ScenarioPhases;
  /** The leader before and after (leader faults). */
  leaderBefore?: string | undefined;
  leaderAfter?: string | undefined;
}

/** Milliseconds spent in each phase of a scenario. */
export interface ScenarioPhases {
  /** Fresh probes until the server sees them from the EIP. */
  probes: number;
  /** The steady baseline before the fault (fixed 1 s). */
  baseline: number;
  /** Fault until the move is seen (or the no-move wait). */
  move: number;
  /** Until traffic flows from the EIP again, plus the 1.5 s settle. */
  settle: number;
  /** Recovery and the move-back check. */
  recovery: number;
}

/** How long to wait for each step. */
export interface ScenarioOptions {
  /** Skip the recovery step. */
  noRecovery?: boolean;
  /** Called with a line for every step (the live view). */
  onStep?: (text: string) => void;
  /** Length of `apiserver-outage` and `api-partition-all` (ms; default 3 eviction timeouts). */
  outageMs?: number;
  /** Runs right after the fault is injected, while it holds (to check the fault took effect). */
  whileFaulted?: (holder: string) => void | Promise<void>;
}

async function inject(
  lab: Lab,
  fault: Fault,
  node: string,
  leader: string | undefined,
  outageMs: number,
): Promise<void> {
  switch (fault) {
    case 'agent-kill':
      lab.signalAgent(node, 'SIGKILL');
      return;
    case 'agent-freeze':
      lab.signalAgent(node, 'SIGSTOP');
      return;
    case 'node-down':
      lab.setNodeDown(node);
      return;
    case 'node-freeze':
      lab.signalAgent(node, 'SIGSTOP');
      lab.setNodeDown(node);
      return;
    case 'partition':
      lab.setApiPartition(node, true);
      return;
    case 'lan-link-down':
      lab.setLanLink(node, false);
      return;
    case 'planned':
      lab.signalAgent(node, 'SIGTERM');
      return;
    case 'leader-kill':
    case 'leader-stop': {
      const p = leader ? lab.controllers.get(leader) : undefined;
      if (!p) throw new Error(`no running leader controller (lease holder: ${leader ?? 'none'})`);
      lab.note('fault', `${fault === 'leader-kill' ? 'SIGKILL' : 'SIGTERM'} leader controller ${leader}`);
      lab.procs.signal(p, fault === 'leader-kill' ? 'SIGKILL' : 'SIGTERM');
      lab.signalAgent(node, 'SIGKILL');
      return;
    }
    case 'apiserver-restart':
      await lab.restartApiServer('SIGKILL');
      return;
    case 'apiserver-outage':
      await lab.freezeApiServer(outageMs);
      return;
    case 'api-partition-all':
      for (const n of lab.plan.nodes) lab.setApiPartition(n.name, true);
      await sleep(outageMs);
      for (const n of lab.plan.nodes) lab.setApiPartition(n.name, false);
      return;
    case 'lan-partition':
      lab.setPeerCut(node, otherGateways(lab, node), true);
      return;
    case 'split': {
      const lone = loneOfSplit(lab, node);
      lab.setPeerCut(lone, otherGateways(lab, lone), true);
      return;
    }
    case 'majority-down':
      for (const o of otherGateways(lab, node)) lab.setNodeDown(o);
      return;
    case 'rolling-update':
      await lab.rollingUpdate();
      return;
  }
}

function otherGateways(lab: Lab, node: string): string[] {
  return lab.plan.nodes.filter((n) => n.role === 'gateway' && n.name !== node).map((n) => n.name);
}

/** The gateway node the `split` fault isolates: the last one that does not hold the EIP. */
function loneOfSplit(lab: Lab, holder: string): string {
  const others = otherGateways(lab, holder);
  const lone = others.at(-1);
  if (lone === undefined || others.length < 2)
    throw new Error(`fault split needs at least 3 gateway nodes (the lab has ${others.length + 1})`);
  return lone;
}

async function recover(lab: Lab, fault: Fault, node: string, leader: string | undefined): Promise<void> {
  switch (fault) {
    case 'agent-kill':
    case 'planned':
      await lab.restartAgent(node);
      return;
    case 'agent-freeze':
      lab.signalAgent(node, 'SIGCONT');
      return;
    case 'node-down':
      lab.setLanLink(node, true);
      lab.setApiPartition(node, false);
      return;
    case 'node-freeze':
      lab.setLanLink(node, true);
      lab.setApiPartition(node, false);
      lab.signalAgent(node, 'SIGCONT');
      return;
    case 'partition':
      lab.setApiPartition(node, false);
      return;
    case 'lan-link-down':
      lab.setLanLink(node, true);
      return;
    case 'leader-kill':
    case 'leader-stop':
      if (leader) {
        const old = lab.controllers.get(leader);
        if (old) await old.exited;
        lab.startController(leader);
        lab.note('fault', `controller ${leader} restarted`);
      }
      await lab.restartAgent(node);
      return;
    case 'lan-partition':
      lab.setPeerCut(node, [], false);
      return;
    case 'split':
      lab.setPeerCut(loneOfSplit(lab, node), [], false);
      return;
    case 'majority-down':
      for (const o of otherGateways(lab, node)) {
        lab.setLanLink(o, true);
        lab.setApiPartition(o, false);
      }
      return;
    case 'apiserver-restart':
    case 'apiserver-outage':
    case 'api-partition-all':
    case 'rolling-update':
      return;
  }
}

/**
 * Injects one fault on the EIP holder, waits for the failover (or for the cluster to settle),
 * recovers the failed part, checks there is no move-back, and measures everything on the wire.
 */
export async function runScenario(lab: Lab, fault: Fault, o: ScenarioOptions = {}): Promise<ScenarioResult> {
  const step = o.onStep ?? (() => {});
  if (lab.vrrp && !(KEEPALIVED_FAULTS as readonly string[]).includes(fault))
    throw new Error(
      `fault ${fault} needs our controller; keepalived labs run ${KEEPALIVED_FAULTS.join(', ')}`,
    );
  // Eviction timeout, or keepalived's master-down interval.
  const evictMs = lab.moveTimeoutMs;
  const leaseMs = lab.timing.leaseDuration * 1000;
  const startedAt = Date.now();
  const from = await lab.holder();
  if (!from) throw new Error('no node holds the EIP before the fault');
  const leaderBefore = await lab.leader();
  // Fresh flows for every scenario (one broken by an earlier scenario must not count here),
  // then a steady baseline.
  if (!(await lab.restartProbes())) step('warning: fresh probes are not seen from the EIP before the fault');
  const probesAt = Date.now();
  await sleep(1000);
  const faultAt = Date.now();
  step(
    `fault: ${FAULT_DESCRIPTIONS[fault]} (holder ${from}${fault.startsWith('leader') ? `, leader ${leaderBefore}` : ''})`,
  );
  await inject(
    lab,
    fault,
    from,
    leaderBefore,
    o.outageMs ?? APISERVER_OUTAGE_EVICTIONS * lab.timing.eipEvictionTimeout * 1000,
  );
  await o.whileFaulted?.(from);
  const eip4 = lab.plan.eip4;
  let to: string | undefined = from;
  let detectionMs: number | undefined;
  const moves = faultMovesEip(fault, lab.peers);
  if (moves) {
    const bound = evictMs + 10_000 + (fault.startsWith('leader') ? leaseMs : 0);
    let seenAt: number | undefined;
    await lab.waitFor(async () => {
      const h = await lab.holder();
      if (h !== undefined && h !== from) {
        to = h;
        seenAt = Date.now();
        return true;
      }
      return false;
    }, bound);
    // Two pollers watch the status (the lab's and this one): the earlier sighting counts.
    const change = lab.holderChanges.find((c) => c.t >= faultAt && c.node !== from);
    const first = Math.min(change?.t ?? Number.POSITIVE_INFINITY, seenAt ?? Number.POSITIVE_INFINITY);
    detectionMs = Number.isFinite(first) ? first - faultAt : undefined;
    to = change?.node ?? to;
    step(`gateway status: EIP moved ${from} -> ${to ?? 'nowhere'} after ${detectionMs ?? '?'} ms`);
  } else {
    await sleep(evictMs + 1000);
    to = await lab.holder();
  }
  const movedAt = Date.now();
  // Probes resume from the EIP through the new holder.
  await lab.waitFor(() => {
    const last = lab.arrivals.at(-1);
    return last !== undefined && last.t > Date.now() - 200 && lab.lastSource('u4') === eip4;
  }, 10_000);
  await sleep(1500);
  const settledAt = Date.now();
  const oldStillBound = moves ? lab.eipBoundOn(from) : undefined;
  let holderAfterRecovery: string | undefined;
  if (o.noRecovery === true) {
    // Something to look at after the settle point: sources and the stream are judged on it.
    await sleep(1000);
  } else {
    // (For an API server restart there is nothing to recover, but the wait below still watches
    // for a late spurious move: at 5/5/5 one came 8 s after the restart.)
    step(`recovering ${fault.startsWith('leader') ? `controller ${leaderBefore} and ` : ''}${from}`);
    await recover(lab, fault, from, leaderBefore);
    // Give the recovered node every chance to take the EIP back (it must not).
    await sleep(evictMs + 2000);
    holderAfterRecovery = await lab.holder();
    step(
      `after recovery the EIP is on ${holderAfterRecovery ?? 'nobody'} (${holderAfterRecovery === to ? 'no move-back' : 'MOVED'})`,
    );
  }
  const end = Date.now();
  // The arrivals are read from the probe server's output, which can lag by a few hundred ms on a
  // loaded machine: wait until one sent after `end` has been read, so that the silence before it is
  // not taken for traffic that never came back (an `open` gap). Up to 2 s: then it did not come back.
  await lab.waitFor(() => (lab.arrivals.at(-1)?.t ?? 0) >= end, 2_000);
  const gaps: ScenarioResult['gaps'] = {};
  for (const [k, src] of [
    ['u4', eip4],
    ['u6', lab.plan.eip6],
    ['c4', eip4],
    ['s4', eip4],
  ] as const) {
    const g = longestGap(lab.arrivals, k, faultAt - 500, end, src);
    if (g) gaps[k] = g;
  }
  const streamBefore = streamConnections(lab.arrivals, faultAt - 1000, faultAt);
  const streamAfter = streamConnections(lab.arrivals, settledAt, end);
  const streamErrors = lab.streamEvents.filter((e) => e.t >= faultAt && e.k === 'stream-error');
  return {
    fault,
    from,
    to,
    faultAt,
    detectionMs,
    gaps,
    sourcesBefore: sourcesBetween(lab.arrivals, 'u4', faultAt - 1000, faultAt),
    sourcesAfter: sourcesBetween(lab.arrivals, 'u4', settledAt, end),
    duplicates: duplicateWindows(lab.arp.filter((r) => r.t >= faultAt - 1000)),
    arpHandover: ownershipGap(lab.arp, faultAt),
    arpSilence: longestArpSilence(lab.arp, faultAt, end),
    streamSurvived:
      streamErrors.length === 0 &&
      streamBefore.length === 1 &&
      streamAfter.length === 1 &&
      streamBefore[0] === streamAfter[0],
    streamBefore,
    streamAfter,
    holderAfterRecovery,
    oldStillBound,
    durationMs: end - startedAt,
    phases: {
      probes: probesAt - startedAt,
      baseline: faultAt - probesAt,
      move: movedAt - faultAt,
      settle: settledAt - movedAt,
      recovery: end - settledAt,
    },
    ...(fault.startsWith('leader') ? { leaderBefore, leaderAfter: await lab.leader() } : {}),
  };
}
