import { checkRange, checkSeconds, EgressConfigError } from '../config-error.js';
import { applyEgressChanges } from '../egress/apply-changes.js';
import { reconcileEgress } from '../egress/reconcile.js';
import type { EgressState, GatewayNodeStatus } from '../egress/types.js';
import { EventQueue } from './event-queue.js';
import { createPrng, type Prng } from './prng.js';

/** Timing settings and environment of a simulation. Periods in seconds (Helm value names), the rest in ms. */
export interface SimulationSettings {
  readonly tunnelUpdatePeriod: number;
  readonly tunnelMonitorPeriod: number;
  readonly eipEvictionTimeout: number;
  /**
   * `poll`: upstream behaviour, the controller only checks every monitor period and compares the agent's
   * second-precision `lastHeartbeatTime` (agent clock) with its own clock. `deadline`: this product, the
   * controller judges by its own observed time (ms) and wakes at the engine's `nextWakeAt`.
   */
  readonly mode: 'poll' | 'deadline';
  /** Heartbeat interval is `update x (1 + u x jitter)`, u uniform in [0, 1) (client-go JitterUntil). Default 0. */
  readonly jitter?: number;
  /** API write plus watch delivery latency, uniform in [min, max] ms. Default [5, 50]. */
  readonly writeLatencyMs?: readonly [number, number];
  /** Agent clocks are off by up to +-this many ms (only matters in poll mode). Default 0. */
  readonly clockSkewMs?: number;
  /** Probability that a heartbeat write fails. Default 0. */
  readonly heartbeatLossRate?: number;
  /** Time an agent needs to program its datapath after seeing a status change. Default 20 ms. */
  readonly bindLatencyMs?: number;
  /**
   * Agents bind EIPs with a kernel lifetime (a lease) renewed on each acknowledged heartbeat, counted
   * from that heartbeat's send time, so it always lapses before the controller can evict; after a
   * lapse the agent binds again only from a status read after its next acknowledged heartbeat (this
   * product). Default: true in deadline mode, false in poll mode.
   */
  readonly fencing?: boolean;
  /** Address lifetime after the send time of the last acknowledged heartbeat. Default: the eviction timeout. */
  readonly addressLifetimeMs?: number;
  /** PRNG seed. Default 1. */
  readonly seed?: number;
}

/**
 * A fault. `crash`: the node dies (its addresses vanish). `partition`: the agent cannot reach the API
 * server (keeps its addresses unless fencing). `pause`: the agent is frozen (kernel keeps addresses until
 * their lifetime ends; without fencing, a frozen userspace responder answers nothing). `drain`: planned
 * shutdown (deadline mode hands over first; poll mode has no handover, so it acts as a crash).
 */
export interface Fault {
  readonly atMs: number;
  /** Node to hit; omitted: the node holding the most EIPs at `atMs` (ties: first by name). */
  readonly node?: string;
  readonly kind: 'crash' | 'partition' | 'pause' | 'drain';
  /** Heal after this long; omitted: never. */
  readonly durationMs?: number;
}

/** Cluster and fault schedule of one simulation: one gateway over `nodes` nodes, `eips` policies with one EIP each. */
export interface Scenario {
  readonly nodes?: number;
  readonly eips?: number;
  readonly durationMs: number;
  readonly faults: readonly Fault[];
}

/** Outcome of one fault. */
export interface FaultReport {
  readonly fault: Fault;
  readonly node: string;
  /** EIPs the node held when the fault began. */
  readonly eips: number;
  /** Fault start to the controller's decision (tunnel HeartbeatTimeout or EIPs moved), or `null`. */
  readonly detectionMs: number | null;
  /** Fault start to the last of its EIPs bound on another node, or `null` (none held, or never moved). */
  readonly failoverMs: number | null;
  /** Total time during which the faulted node and another node both held one of its EIPs. */
  readonly duplicateOwnerMs: number;
}

/** Result of {@link simulateFailover}. */
export interface SimulationReport {
  readonly faults: FaultReport[];
  /** Evictions (HeartbeatTimeout) of nodes that were not faulted. */
  readonly falseEvictions: Array<{ readonly atMs: number; readonly node: string }>;
  readonly reconciles: number;
  readonly heartbeats: number;
}

type Ev =
  | { t: 'hb'; node: string }
  | { t: 'hbLand'; node: string; stamp: number; sentAt: number }
  | { t: 'drainLand'; node: string }
  | { t: 'monitor' }
  | { t: 'wake'; token: number }
  | { t: 'apply'; snapshot: Map<string, Set<string>>; seq: number; only?: string }
  | { t: 'faultStart'; i: number }
  | { t: 'faultEnd'; i: number }
  | { t: 'expire'; node: string };

interface Agent {
  readonly name: string;
  readonly skew: number;
  crashed: boolean;
  paused: boolean;
  partitioned: boolean;
  draining: boolean;
  stopped: boolean;
  /** Fencing: the agent may hold addresses until this instant. */
  leaseUntil: number;
  bound: Set<string>;
  /** The newest status snapshot applied: a watch delivers in order, so an older one is never applied after it. */
  appliedSeq: number;
}

interface FaultTrack {
  node: string;
  held: Set<string>;
  releaseAt: Map<string, number>;
  takeAt: Map<string, number>;
  detectedAt: number | null;
  started: boolean;
  endAt: number;
}

/**
 * Checks simulation settings, throwing {@link EgressConfigError} naming the field: periods and the
 * timeout are positive seconds below 1000 (more looks like milliseconds), `jitter` and latencies are
 * non-negative, `heartbeatLossRate` is a probability in [0, 1) (at 1 no heartbeat ever lands).
 */
export function checkSimulationSettings(settings: SimulationSettings): void {
  if (typeof settings !== 'object' || settings === null)
    throw new EgressConfigError('settings', 'settings must be an object of simulation settings');
  for (const field of ['tunnelUpdatePeriod', 'tunnelMonitorPeriod', 'eipEvictionTimeout'] as const)
    checkSeconds(settings[field], `settings.${field}`, field);
  if (settings.mode !== 'poll' && settings.mode !== 'deadline')
    throw new EgressConfigError(
      'mode',
      `settings.mode must be 'poll' or 'deadline', got ${String(settings.mode)}`,
    );
  const inf = Number.POSITIVE_INFINITY;
  const optional: Array<[keyof SimulationSettings, number, number, boolean]> = [
    ['jitter', 0, inf, false],
    ['clockSkewMs', 0, inf, false],
    ['heartbeatLossRate', 0, 1, true],
    ['bindLatencyMs', 0, inf, false],
    ['addressLifetimeMs', 1, inf, false],
    ['seed', -inf, inf, false],
  ];
  for (const [field, min, max, maxExclusive] of optional) {
    const v = settings[field];
    if (v !== undefined) checkRange(v, `settings.${field}`, field, min, max, { maxExclusive });
  }
  if (settings.writeLatencyMs !== undefined) {
    const [a, b] = Array.isArray(settings.writeLatencyMs)
      ? settings.writeLatencyMs
      : [Number.NaN, Number.NaN];
    checkRange(a, 'settings.writeLatencyMs[0]', 'writeLatencyMs', 0, inf);
    checkRange(b, 'settings.writeLatencyMs[1]', 'writeLatencyMs', a as number, inf);
  }
}

function checkScenario(scenario: Scenario): void {
  if (typeof scenario !== 'object' || scenario === null)
    throw new EgressConfigError('scenario', 'scenario must be an object with durationMs and faults');
  checkRange(scenario.durationMs, 'scenario.durationMs', 'durationMs', 0, Number.POSITIVE_INFINITY);
  if (scenario.nodes !== undefined)
    checkRange(scenario.nodes, 'scenario.nodes', 'nodes', 1, 65_000, { integer: true });
  if (scenario.eips !== undefined)
    checkRange(scenario.eips, 'scenario.eips', 'eips', 0, 65_000, { integer: true });
  if (!Array.isArray(scenario.faults))
    throw new EgressConfigError('faults', 'scenario.faults must be a list of faults (may be empty)');
}

/**
 * Discrete-event simulation of agents heartbeating, the controller running this package's real
 * {@link reconcileEgress}, status delivery to agents, datapath binding, and a fault schedule. Reports
 * per fault the detection and failover time and any window in which two nodes held the same EIP, plus
 * false evictions. Deterministic for a given seed; needs no fast-check.
 *
 * @example
 * ```ts
 * const report = simulateFailover(
 *   { tunnelUpdatePeriod: 1, tunnelMonitorPeriod: 5, eipEvictionTimeout: 3, mode: 'deadline', jitter: 0.2 },
 *   { durationMs: 30_000, faults: [{ atMs: 15_000, kind: 'crash' }] },
 * );
 * report.faults[0]?.failoverMs; // about 3 000 + latencies
 * ```
 */
export function simulateFailover(settings: SimulationSettings, scenario: Scenario): SimulationReport {
  checkSimulationSettings(settings);
  checkScenario(scenario);
  const rng: Prng = createPrng(settings.seed ?? 1);
  const update = settings.tunnelUpdatePeriod * 1000;
  const monitor = settings.tunnelMonitorPeriod * 1000;
  const eviction = settings.eipEvictionTimeout * 1000;
  const [latMin, latMax] = settings.writeLatencyMs ?? [5, 50];
  const latency = () => rng.between(latMin, latMax);
  const jitter = settings.jitter ?? 0;
  const skewMax = settings.clockSkewMs ?? 0;
  const loss = settings.heartbeatLossRate ?? 0;
  const bindLatency = settings.bindLatencyMs ?? 20;
  const deadline = settings.mode === 'deadline';
  const fencing = settings.fencing ?? deadline;
  const lifetime = settings.addressLifetimeMs ?? eviction;
  const nodeCount = scenario.nodes ?? 3;
  const eipCount = scenario.eips ?? 3;
  const names = Array.from({ length: nodeCount }, (_, i) => `node${i + 1}`);
  const agents = new Map<string, Agent>(
    names.map((name) => [
      name,
      {
        name,
        skew: rng.between(-skewMax, skewMax),
        crashed: false,
        paused: false,
        partitioned: false,
        draining: false,
        stopped: false,
        leaseUntil: Number.NEGATIVE_INFINITY,
        bound: new Set<string>(),
        appliedSeq: -1,
      },
    ]),
  );
  const eips = Array.from({ length: eipCount }, (_, i) => `198.18.${(i + 1) >> 8}.${(i + 1) & 255}`);
  let view: EgressState = {
    gateways: [
      {
        metadata: { name: 'gw' },
        spec: { ippools: { ipv4: eips, ipv4DefaultEIP: eips[0] ?? '' }, nodeSelector: { selector: {} } },
      },
    ],
    nodes: names.map((name) => ({ metadata: { name, labels: {} } })),
    tunnels: names.map((name) => ({
      tunnel: { metadata: { name }, status: { phase: 'Pending' } },
      observedAt: null,
    })),
    policies: eips.map((ip, i) => ({
      metadata: { name: `p${i + 1}`, namespace: 'default' },
      spec: { egressGatewayName: 'gw', egressIP: { ipv4: ip } },
    })),
    clusterPolicies: [],
  };
  const observed = new Map<string, { stamp: number; at: number }>();
  const draining = new Set<string>();
  const q = new EventQueue<Ev>();
  const tracks: FaultTrack[] = scenario.faults.map((f) => ({
    node: f.node ?? '',
    held: new Set(),
    releaseAt: new Map(),
    takeAt: new Map(),
    detectedAt: null,
    started: false,
    endAt: f.durationMs === undefined ? Number.POSITIVE_INFINITY : f.atMs + f.durationMs,
  }));
  const falseEvictions: Array<{ atMs: number; node: string }> = [];
  let reconciles = 0;
  let heartbeats = 0;
  let wakeToken = 0;
  let snapshots = 0;
  let now = 0;

  const unbind = (a: Agent, eip: string) => {
    if (!a.bound.delete(eip)) return;
    for (const tr of tracks)
      if (tr.started && tr.node === a.name && tr.held.has(eip) && !tr.releaseAt.has(eip))
        tr.releaseAt.set(eip, now);
  };
  const bind = (a: Agent, eip: string) => {
    if (a.bound.has(eip)) return;
    a.bound.add(eip);
    for (const tr of tracks)
      if (tr.started && tr.node !== a.name && tr.held.has(eip) && !tr.takeAt.has(eip))
        tr.takeAt.set(eip, now);
  };
  const running = (a: Agent) => !a.crashed && !a.paused && !a.stopped;
  const snapshot = (): Map<string, Set<string>> => {
    const nodeList: readonly GatewayNodeStatus[] = (view.gateways[0]?.status?.nodeList ??
      []) as GatewayNodeStatus[];
    return new Map(nodeList.map((n) => [n.name, new Set((n.eips ?? []).map((e) => e.ipv4))]));
  };
  const faultActive = (node: string, t: number) =>
    scenario.faults.some((f, i) => {
      const tr = tracks[i] as FaultTrack;
      return tr.started && tr.node === node && t >= f.atMs && t <= tr.endAt + eviction + update;
    });

  const reconcile = () => {
    reconciles++;
    const state: EgressState = {
      ...view,
      tunnels: view.tunnels.map((t) => {
        const name = t.tunnel.metadata?.name ?? '';
        const o = observed.get(name);
        const observedAt = o === undefined ? null : deadline ? o.at : Math.floor(o.stamp / 1000) * 1000;
        return {
          tunnel: t.tunnel,
          observedAt,
          ...(deadline && draining.has(name) ? { draining: true } : {}),
        };
      }),
    };
    const changes = reconcileEgress(state, { evictionTimeoutMs: eviction }, now);
    view = applyEgressChanges(state, changes);
    for (const t of changes.tunnels) {
      if (t.phase !== 'HeartbeatTimeout') continue;
      const tr = tracks.find(
        (x, i) =>
          x.started &&
          x.node === t.name &&
          x.detectedAt === null &&
          now >= (scenario.faults[i] as Fault).atMs,
      );
      if (tr !== undefined) tr.detectedAt = now;
      else if (!faultActive(t.name, now)) falseEvictions.push({ atMs: now, node: t.name });
    }
    for (const e of changes.events) {
      if (e.reason !== 'EIPMoved' && e.reason !== 'EIPUnassignable') continue;
      const tr = tracks.find((x) => x.started && x.node === e.from && x.detectedAt === null);
      if (tr !== undefined) tr.detectedAt = now;
    }
    if (changes.gateways.length > 0)
      q.push(now + latency() + bindLatency, { t: 'apply', snapshot: snapshot(), seq: ++snapshots });
    if (deadline && changes.nextWakeAt !== null)
      q.push(changes.nextWakeAt, { t: 'wake', token: ++wakeToken });
  };

  const scheduleHeartbeat = (a: Agent, from: number) =>
    q.push(from + update * (1 + rng.next() * jitter), { t: 'hb', node: a.name });

  for (const a of agents.values()) q.push(rng.between(0, update), { t: 'hb', node: a.name });
  for (let t = 0; t <= scenario.durationMs; t += monitor) q.push(t, { t: 'monitor' });
  scenario.faults.forEach((f, i) => {
    q.push(f.atMs, { t: 'faultStart', i });
    if (f.durationMs !== undefined) q.push(f.atMs + f.durationMs, { t: 'faultEnd', i });
  });

  for (let ev = q.pop(); ev !== undefined && ev.at <= scenario.durationMs; ev = q.pop()) {
    now = ev.at;
    const e = ev.item;
    switch (e.t) {
      case 'hb': {
        const a = agents.get(e.node) as Agent;
        if (!running(a)) break;
        heartbeats++;
        if (!a.partitioned && rng.next() >= loss) {
          q.push(now + latency(), { t: 'hbLand', node: a.name, stamp: now + a.skew, sentAt: now });
        }
        scheduleHeartbeat(a, now);
        break;
      }
      case 'hbLand': {
        const a = agents.get(e.node) as Agent;
        // A write that lands while the agent is cut off is seen by the controller, but its ack never
        // reaches the agent, so it does not extend the agent's lease.
        const landedPhase = view.tunnels.find((t) => t.tunnel.metadata?.name === e.node)?.tunnel.status
          ?.phase;
        if (fencing && !a.partitioned && !a.paused && landedPhase === 'HeartbeatTimeout') {
          // The write comes back with the eviction the controller already wrote: its EIPs are being
          // moved, so the agent lets go at once and renews nothing (FenceKeeper's 'evicted' fence)
          // until an acknowledgement finds the tunnel Ready again.
          a.leaseUntil = Math.min(a.leaseUntil, now);
          for (const x of [...a.bound]) unbind(a, x);
        } else if (fencing && !a.partitioned && !a.paused) {
          const lapsed = now > a.leaseUntil;
          a.leaseUntil = Math.max(a.leaseUntil, e.sentAt + lifetime);
          q.push(a.leaseUntil, { t: 'expire', node: a.name });
          // After a lapse the agent binds nothing until it has read the status again.
          if (lapsed)
            q.push(now + latency() + bindLatency, {
              t: 'apply',
              snapshot: snapshot(),
              seq: ++snapshots,
              only: a.name,
            });
        }
        observed.set(e.node, { stamp: e.stamp, at: now });
        const phase = view.tunnels.find((t) => t.tunnel.metadata?.name === e.node)?.tunnel.status?.phase;
        // Reconciles whose result cannot differ are skipped: with a fresh Ready tunnel, a newer heartbeat
        // only moves a deadline later, and the pending wake-up recomputes it.
        if (deadline && phase !== 'Ready') reconcile();
        break;
      }
      case 'drainLand':
        draining.add(e.node);
        if (deadline) reconcile();
        break;
      case 'monitor':
        reconcile();
        break;
      case 'wake':
        if (e.token === wakeToken) reconcile();
        break;
      case 'apply':
        for (const a of agents.values()) {
          if (e.only !== undefined && e.only !== a.name) continue;
          if (!running(a) || a.partitioned || e.seq < a.appliedSeq) continue;
          a.appliedSeq = e.seq;
          const want = e.snapshot.get(a.name) ?? new Set<string>();
          for (const x of [...a.bound]) if (!want.has(x)) unbind(a, x);
          // With fencing an agent binds only under a valid lease.
          if (!fencing || now < a.leaseUntil) for (const x of want) bind(a, x);
          if (a.draining && a.bound.size === 0) a.stopped = true;
        }
        break;
      case 'expire': {
        const a = agents.get(e.node) as Agent;
        if (now >= a.leaseUntil) for (const x of [...a.bound]) unbind(a, x);
        break;
      }
      case 'faultStart': {
        const f = scenario.faults[e.i] as Fault;
        const tr = tracks[e.i] as FaultTrack;
        if (tr.node === '') tr.node = busiest(agents);
        const a = agents.get(tr.node);
        if (a === undefined) break;
        tr.started = true;
        tr.held = new Set(a.bound);
        if (f.kind === 'crash' || (f.kind === 'drain' && !deadline)) {
          a.crashed = true;
          for (const x of [...a.bound]) unbind(a, x);
        } else if (f.kind === 'drain') {
          a.draining = true;
          q.push(now + latency(), { t: 'drainLand', node: a.name });
        } else {
          if (f.kind === 'partition') a.partitioned = true;
          else a.paused = true;
          // With fencing the lease expiry already scheduled takes the addresses away; without it a frozen
          // userspace responder answers nothing, while a partitioned one keeps answering.
          if (!fencing && f.kind === 'pause') for (const x of [...a.bound]) unbind(a, x);
        }
        break;
      }
      case 'faultEnd': {
        const f = scenario.faults[e.i] as Fault;
        const a = agents.get((tracks[e.i] as FaultTrack).node);
        if (a === undefined) break;
        if (f.kind === 'partition') a.partitioned = false;
        if (f.kind === 'pause') a.paused = false;
        if (f.kind === 'crash') {
          a.crashed = false;
          a.bound.clear();
        }
        // The agent resyncs: it reads the current status and heartbeats again.
        q.push(now + latency() + bindLatency, {
          t: 'apply',
          snapshot: snapshot(),
          seq: ++snapshots,
          only: a.name,
        });
        if (f.kind !== 'partition') scheduleHeartbeat(a, now - update);
        break;
      }
    }
  }
  const end = scenario.durationMs;
  const faults: FaultReport[] = scenario.faults.map((fault, i) => {
    const tr = tracks[i] as FaultTrack;
    let failover: number | null = tr.held.size === 0 ? null : 0;
    let duplicate = 0;
    for (const eip of tr.held) {
      const take = tr.takeAt.get(eip);
      if (take === undefined) failover = null;
      else if (failover !== null) failover = Math.max(failover, take - fault.atMs);
      if (take !== undefined) duplicate += Math.max(0, Math.min(tr.releaseAt.get(eip) ?? end, end) - take);
    }
    return {
      fault,
      node: tr.node,
      eips: tr.held.size,
      detectionMs: tr.detectedAt === null ? null : tr.detectedAt - fault.atMs,
      failoverMs: failover,
      duplicateOwnerMs: duplicate,
    };
  });
  return { faults, falseEvictions, reconciles, heartbeats };
}

function busiest(agents: ReadonlyMap<string, Agent>): string {
  let best = '';
  let most = -1;
  for (const a of [...agents.values()].sort((x, y) => (x.name < y.name ? -1 : 1))) {
    if (a.bound.size > most) {
      best = a.name;
      most = a.bound.size;
    }
  }
  return best;
}
