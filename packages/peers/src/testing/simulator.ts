import {
  changesMembersInPlace,
  initialPeerState,
  type PeerAction,
  type PeerInput,
  type PeerState,
  step,
} from '../core.js';
import type { PeerTiming } from '../timing.js';
import type { Advert } from '../types.js';

/** One agent's clock: local = offsetMs + rate × real time. */
export interface SimClock {
  /** 1 ± the rate error (e.g. 0.99 runs 1 % slow). */
  readonly rate: number;
  readonly offsetMs: number;
}

/** A fault in real (simulated) time. Node indexes are taken modulo the group size. */
export type SimFault =
  /** The node dies: it stops answering at once and never sends again. */
  | { readonly kind: 'kill'; readonly node: number; readonly at: number }
  /**
   * The agent crashes and starts again after `forMs` with a new epoch and a fresh state; the kernel
   * lease of the old run keeps answering until the new run's start removes it (after the lag).
   */
  | { readonly kind: 'restart'; readonly node: number; readonly at: number; readonly forMs: number }
  /** The agent freezes (SIGSTOP): the kernel keeps answering until the lease it last set. */
  | { readonly kind: 'pause'; readonly node: number; readonly at: number; readonly forMs: number }
  /** Directed LAN links [from, to] drop everything for a while (any subset, asymmetric). */
  | {
      readonly kind: 'partition';
      readonly at: number;
      readonly forMs: number;
      readonly links: readonly (readonly [number, number])[];
    }
  /** These agents cannot reach the API server for a while (heartbeats are not acknowledged). */
  | {
      readonly kind: 'api-down';
      readonly at: number;
      readonly forMs: number;
      readonly nodes: readonly number[];
    }
  /**
   * The EIP leaves the gateway's EIPs in use (its last policy went) and comes back after `forMs`,
   * placed on node `to`; each agent reads each change after its own delay in [0, `lagMs`] (an agent
   * cut from the API server reads it at its next acknowledged heartbeat).
   */
  | {
      readonly kind: 'eip-flap';
      readonly at: number;
      readonly forMs: number;
      readonly to: number;
      readonly lagMs: number;
    }
  /**
   * The node leaves the gateway (its label removed) and joins again after `forMs`; the controller
   * moves the EIP off it at once if it held it. Each agent reads each change after its own delay in
   * [0, `lagMs`] and does what the agent's driver does: takes the new members in place when
   * `changesMembersInPlace` allows, else starts a new run; the node itself stops (withdraws, sends
   * nothing) when it reads that it left, and starts a new run when it reads that it is back.
   */
  | {
      readonly kind: 'leave';
      readonly node: number;
      readonly at: number;
      readonly forMs: number;
      readonly lagMs: number;
    }
  /**
   * The node's agent hands its EIPs over before it stops (a planned stop): it takes the `hand-over`
   * input at once, marks its tunnel draining once its withdraw has completed (the agent writes the
   * mark after its datapath apply), and the controller, which places nothing on a draining node,
   * moves the status off it as it reads the mark (agents read the move one round trip later). The
   * agent runs on (it still backs the others) until a `restart`, whose new run may be placed on
   * again.
   */
  | { readonly kind: 'hand-over'; readonly node: number; readonly at: number };

/** A whole scenario: group, clocks, network and faults. */
export interface SimScenario {
  readonly timing: PeerTiming;
  /** One clock per agent; the group size is its length. Node i is named `n<i>`, ranked by i. */
  readonly clocks: readonly SimClock[];
  /** One-way LAN delay of each advert, uniform in [min, max] ms. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Probability that an advert is lost. */
  readonly lossRate: number;
  /** Real time from a withdraw decision (or a lease end) until the node stopped answering. */
  readonly withdrawLagMs: number;
  /** API heartbeat period (real ms) and round trip. */
  readonly heartbeatPeriodMs: number;
  readonly apiRttMs: number;
  /** The controller records a peer takeover into the status this long after it (undefined: never). */
  readonly recordDelayMs?: number;
  /**
   * Model the controller's evictions (the tie-breaker of docs/peers.md needs them): a node whose
   * heartbeat the API server has not seen for E is marked evicted, and the status moves off it to
   * the first member not marked; a renewal that lands on a mark is answered evicted, and the mark
   * is lifted `liftDelayMs` (default 10) later. Lease reads (`read-evictions`) are answered after a
   * random part of `apiRttMs`. Without it nobody is ever evicted.
   */
  readonly evictions?: boolean;
  readonly liftDelayMs?: number;
  /** Per node, a timing that replaces `timing` for that node (to break a rule on purpose). */
  readonly nodeTimings?: readonly (PeerTiming | undefined)[];
  readonly faults: readonly SimFault[];
  /** Seed of the simulator's own randomness (delays, losses, heartbeat phases). */
  readonly seed: number;
}

/** A real-time interval during which a node answered for the EIP. */
export interface AnswerInterval {
  /** Node name. */
  readonly node: string;
  /** Real time of the take-over (or of the re-bind after a lapsed kernel lease). */
  readonly start: number;
  /** Real time it stopped answering: withdraw + lag, lease end + lag, or death. */
  end: number;
}

/** Two nodes answering at the same real instant. */
export interface Overlap {
  readonly a: AnswerInterval;
  readonly b: AnswerInterval;
}

/** The EIP every simulated group serves. */
export const SIM_EIP = 'eip-0';

type Event = { at: number; order: number; run: () => void };

class Heap {
  private items: Event[] = [];
  get size(): number {
    return this.items.length;
  }
  push(e: Event): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Heap.less(a[i] as Event, a[p] as Event)) break;
      [a[i], a[p]] = [a[p] as Event, a[i] as Event];
      i = p;
    }
  }
  pop(): Event | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && Heap.less(a[l] as Event, a[m] as Event)) m = l;
        if (r < a.length && Heap.less(a[r] as Event, a[m] as Event)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Event, a[i] as Event];
        i = m;
      }
    }
    return top;
  }
  peek(): Event | undefined {
    return this.items[0];
  }
  private static less(x: Event, y: Event): boolean {
    return x.at < y.at || (x.at === y.at && x.order < y.order);
  }
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One simulated agent (read it; the simulator changes it). */
export interface SimAgent {
  /** Node name, `n<i>`. */
  readonly name: string;
  readonly clock: SimClock;
  /** The agent's protocol state after its last step. */
  state: PeerState;
  /** Killed: never steps or answers again. */
  dead: boolean;
  /** Frozen until this real time. */
  pausedUntil: number;
  /** Generation of the pending wake-up timer (older ones are ignored). */
  gen: number;
  /** The current answer interval, if the node may be answering. */
  current: AnswerInterval | undefined;
  /** It read that it is no longer a member (the `leave` fault): it neither steps nor answers. */
  left: boolean;
  /** It hands its EIPs over (the `hand-over` fault); the controller places nothing on it. */
  draining: boolean;
}

/**
 * A discrete-event simulator of one EgressGateway's agents running {@link step} over a lossy, delayed,
 * partitionable LAN, with drifting clocks, pauses, deaths and API outages. It records, in real time,
 * every interval during which a node answered for {@link SIM_EIP} (a withdraw counts `withdrawLagMs`
 * late; a paused agent's kernel lease runs until the lease it last set), so properties can check that
 * no two intervals overlap.
 *
 * @example
 * ```ts
 * const sim = new PeerSimulator(scenario);
 * sim.runUntil(5_000);
 * sim.overlaps(); // [] when safe
 * ```
 */
export class PeerSimulator {
  /** The agents, node `n<i>` at index i. */
  readonly agents: SimAgent[];
  /** Every answer interval, in the order they started. */
  readonly intervals: AnswerInterval[] = [];
  /** Every take-over: who, when (real ms). */
  readonly takeovers: { node: string; at: number }[] = [];
  /** The gateway status: the node the controller names for the EIP (while it is in use). */
  status: string;
  /** The EIP is in use (see the `eip-flap` fault); while not, the status names nobody for it. */
  inUse = true;
  /** The gateway's members now, ranked (see the `leave` fault). */
  members: string[];
  private readonly queue = new Heap();
  private order = 0;
  private nowReal = 0;
  private readonly random: () => number;
  private readonly blocked = new Map<string, number>();
  private readonly apiDown = new Map<number, number>();
  /** Per node: real time the API server last took a heartbeat of it, and its eviction mark. */
  private readonly seenAt: number[] = [];
  private readonly marked: boolean[] = [];
  /** Every eviction (mark) and lift, in real time. */
  readonly evictionLog: { node: string; at: number; kind: 'mark' | 'lift' }[] = [];

  constructor(readonly scenario: SimScenario) {
    this.random = prng(scenario.seed);
    const n = scenario.clocks.length;
    const members = Array.from({ length: n }, (_, i) => `n${i}`);
    this.members = [...members];
    this.status = members[0] as string;
    this.agents = scenario.clocks.map((clock, i) => ({
      name: members[i] as string,
      clock,
      state: initialPeerState(
        {
          group: 'g',
          node: members[i] as string,
          members,
          eips: [SIM_EIP],
          epoch: 1,
          timing: scenario.nodeTimings?.[i] ?? scenario.timing,
        },
        clock.offsetMs,
        { [SIM_EIP]: this.status },
      ),
      dead: false,
      pausedUntil: -Infinity,
      gen: 0,
      current: undefined,
      left: false,
      draining: false,
    }));
    this.agents.forEach((a, i) => {
      this.seenAt[i] = 0;
      this.marked[i] = false;
      if (scenario.evictions) this.at(scenario.timing.evictionTimeoutMs, () => this.judge(i));
      this.at(0, () => this.input(a, { type: 'tick' }));
      this.at(this.random() * scenario.heartbeatPeriodMs, () => this.heartbeat(i, true));
    });
    for (const f of scenario.faults) this.schedule(f);
  }

  /** Current real time of the simulation. */
  get now(): number {
    return this.nowReal;
  }

  /** Runs `run` at real time `at` (not before the current time). */
  at(at: number, run: () => void): void {
    this.queue.push({ at: Math.max(at, this.nowReal), order: this.order++, run });
  }

  /** Processes events up to real time `until` (inclusive). */
  runUntil(until: number): void {
    for (;;) {
      const e = this.queue.peek();
      if (e === undefined || e.at > until) break;
      this.queue.pop();
      this.nowReal = e.at;
      e.run();
    }
    this.nowReal = Math.max(this.nowReal, until);
  }

  /** Pairs of answer intervals of different nodes that share an instant of real time. */
  overlaps(): Overlap[] {
    const out: Overlap[] = [];
    const all = this.intervals;
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const a = all[i] as AnswerInterval;
        const b = all[j] as AnswerInterval;
        if (a.node !== b.node && a.start < b.end && b.start < a.end) out.push({ a, b });
      }
    }
    return out;
  }

  /** Nodes answering at real time `t`. */
  answeringAt(t: number): string[] {
    return this.intervals.filter((i) => i.start <= t && t < i.end).map((i) => i.node);
  }

  /** Local clock of agent `a` at real time `t`. */
  local(a: SimAgent, t: number = this.nowReal): number {
    return a.clock.offsetMs + a.clock.rate * t;
  }

  private realOf(a: SimAgent, local: number): number {
    return (local - a.clock.offsetMs) / a.clock.rate;
  }

  private schedule(f: SimFault): void {
    const n = this.agents.length;
    switch (f.kind) {
      case 'kill':
        this.at(f.at, () => {
          const a = this.agents[f.node % n] as SimAgent;
          a.dead = true;
          if (a.current !== undefined) a.current.end = Math.min(a.current.end, this.nowReal);
          a.current = undefined;
        });
        break;
      case 'restart':
        this.at(f.at, () => {
          const a = this.agents[f.node % n] as SimAgent;
          if (a.dead) return;
          a.pausedUntil = Math.max(a.pausedUntil, this.nowReal + f.forMs);
          this.at(a.pausedUntil, () => {
            if (a.dead || this.nowReal < a.pausedUntil) return;
            if (a.left) return;
            this.newRun(a, a.state.config.members);
          });
        });
        break;
      case 'pause':
        this.at(f.at, () => {
          const a = this.agents[f.node % n] as SimAgent;
          a.pausedUntil = Math.max(a.pausedUntil, this.nowReal + f.forMs);
          this.at(a.pausedUntil, () => this.resume(a));
        });
        break;
      case 'partition':
        this.at(f.at, () => {
          for (const [from, to] of f.links) {
            const k = `${from % n}>${to % n}`;
            this.blocked.set(k, Math.max(this.blocked.get(k) ?? -Infinity, this.nowReal + f.forMs));
          }
        });
        break;
      case 'api-down':
        this.at(f.at, () => {
          for (const i of f.nodes)
            this.apiDown.set(i % n, Math.max(this.apiDown.get(i % n) ?? -Infinity, this.nowReal + f.forMs));
        });
        break;
      case 'eip-flap':
        this.at(f.at, () => this.setInUse(false, f.lagMs));
        this.at(f.at + f.forMs, () => {
          this.status = `n${f.to % n}`;
          this.setInUse(true, f.lagMs);
        });
        break;
      case 'hand-over': {
        const a = this.agents[f.node % n] as SimAgent;
        this.at(f.at, () => {
          // A frozen or dead agent neither hands over nor marks its tunnel.
          if (a.dead || a.left || a.draining || this.nowReal < a.pausedUntil) return;
          a.draining = true;
          this.input(a, { type: 'hand-over' });
          // The controller reads the mark and decides then, on the status as it is at that time.
          this.at(this.nowReal + this.scenario.withdrawLagMs + this.scenario.apiRttMs, () => {
            if (this.status !== a.name || !a.draining) return;
            const next = this.agents.findIndex((b, j) => !this.marked[j] && this.placeable(b));
            if (next >= 0) this.setStatus(`n${next}`);
          });
        });
        break;
      }
      case 'leave': {
        const name = `n${f.node % n}`;
        this.at(f.at, () => {
          if (!this.members.includes(name)) return;
          this.members = this.members.filter((m) => m !== name);
          if (this.status === name) {
            const next = this.members.find(
              (m) => !this.marked[Number(m.slice(1))] && !this.agents[Number(m.slice(1))]?.draining,
            );
            if (next !== undefined) this.status = next;
          }
          this.spread(f.lagMs);
        });
        this.at(f.at + f.forMs, () => {
          if (this.members.includes(name)) return;
          this.members = this.agents.map((b) => b.name).filter((m) => m === name || this.members.includes(m));
          this.spread(f.lagMs);
        });
        break;
      }
    }
  }

  /** Every agent reads the controller's view after its own delay in [0, lagMs]. */
  private spread(lagMs: number): void {
    this.agents.forEach((a, j) => {
      this.at(this.nowReal + this.random() * lagMs, () => {
        if (this.nowReal < (this.apiDown.get(j) ?? -Infinity)) return;
        this.sync(a);
      });
    });
  }

  /** The agent starts a new run (new epoch, fresh state) with these members; the old run's EIP goes. */
  private newRun(a: SimAgent, members: readonly string[]): void {
    if (a.current !== undefined)
      a.current.end = Math.min(a.current.end, this.nowReal + this.scenario.withdrawLagMs);
    a.current = undefined;
    const config = { ...a.state.config, epoch: a.state.config.epoch + 1, members, eips: this.eips() };
    a.state = initialPeerState(config, this.local(a), this.holders(), a.state.config.members);
    a.draining = false;
    a.gen++;
    this.input(a, { type: 'tick' });
  }

  /** The gateway status as agents read it: the EIP's holder while it is in use, nothing otherwise. */
  private holders(): Record<string, string> {
    return this.inUse ? { [SIM_EIP]: this.status } : {};
  }

  private eips(): string[] {
    return this.inUse ? [SIM_EIP] : [];
  }

  /** Members as the agent's driver takes them (see the `leave` fault); true when it acted. */
  private syncMembers(a: SimAgent): boolean {
    const next = this.members;
    const inGroup = next.includes(a.name);
    if (a.left) {
      if (!inGroup) return false;
      a.left = false;
      this.newRun(a, next);
      return true;
    }
    const current = a.state.config.members;
    if (current.join() === next.join()) return false;
    if (!inGroup) {
      a.left = true;
      if (a.current !== undefined)
        a.current.end = Math.min(a.current.end, this.nowReal + this.scenario.withdrawLagMs);
      a.current = undefined;
      a.gen++;
      return true;
    }
    if (changesMembersInPlace(current, next, a.name)) {
      const holders = this.holders();
      if (a.state.status[SIM_EIP] !== holders[SIM_EIP]) this.input(a, { type: 'status', holders });
      this.input(a, { type: 'members', members: next });
    } else this.newRun(a, next);
    return true;
  }

  /**
   * Brings an agent's view (status, then EIPs in use) up to the controller's; false when it was
   * already there (nothing stepped).
   */
  private sync(a: SimAgent): boolean {
    if (a.dead || this.nowReal < a.pausedUntil) return false;
    // One snapshot: members first (a new run starts with the status and EIPs of now), then the rest.
    const acted = this.syncMembers(a);
    if (a.left) return acted;
    const holders = this.holders();
    const eips = this.eips();
    const statusOld = a.state.status[SIM_EIP] !== holders[SIM_EIP];
    const eipsOld = a.state.config.eips.join() !== eips.join();
    if (statusOld) this.input(a, { type: 'status', holders });
    if (eipsOld) this.input(a, { type: 'eips', eips });
    return acted || statusOld || eipsOld;
  }

  private setInUse(inUse: boolean, lagMs: number): void {
    this.inUse = inUse;
    this.spread(lagMs);
  }

  private resume(a: SimAgent): void {
    if (a.dead || this.nowReal < a.pausedUntil) return;
    if (!this.sync(a)) this.input(a, { type: 'tick' });
  }

  private heartbeat(i: number, periodic: boolean): void {
    const a = this.agents[i] as SimAgent;
    if (a.dead) return;
    if (periodic) this.at(this.nowReal + this.scenario.heartbeatPeriodMs, () => this.heartbeat(i, true));
    if (this.nowReal < a.pausedUntil) return;
    if (this.nowReal < (this.apiDown.get(i) ?? -Infinity)) return;
    const sentAt = this.local(a);
    const rtt = this.scenario.apiRttMs;
    if (!this.scenario.evictions) {
      this.at(this.nowReal + rtt, () => {
        this.input(a, { type: 'heartbeat-ack', sentAt });
        this.sync(a);
      });
      return;
    }
    // The API server takes the renewal half a round trip later.
    this.at(this.nowReal + rtt / 2, () => {
      const evicted = this.marked[i] === true;
      this.seenAt[i] = this.nowReal;
      this.at(this.nowReal + this.scenario.timing.evictionTimeoutMs, () => this.judge(i));
      if (evicted) this.at(this.nowReal + (this.scenario.liftDelayMs ?? 10), () => this.lift(i));
      this.at(this.nowReal + rtt / 2, () => {
        this.input(a, { type: 'heartbeat-ack', sentAt, evicted });
        this.sync(a);
      });
    });
  }

  /** The controller: evicts node i if the API server has not seen it for E, moving the status off it. */
  private judge(i: number): void {
    const E = this.scenario.timing.evictionTimeoutMs;
    if (this.marked[i] || this.nowReal < (this.seenAt[i] ?? 0) + E) return;
    this.marked[i] = true;
    this.evictionLog.push({ node: `n${i}`, at: this.nowReal, kind: 'mark' });
    if (this.status !== `n${i}`) return;
    const next = this.agents.findIndex((b, j) => !this.marked[j] && this.placeable(b));
    if (next < 0) return;
    this.setStatus(`n${next}`);
  }

  /** A node the controller may place the EIP on, evictions aside: a member, not draining. */
  private placeable(b: SimAgent): boolean {
    return this.members.includes(b.name) && !b.draining;
  }

  private lift(i: number): void {
    if (!this.marked[i]) return;
    this.marked[i] = false;
    this.evictionLog.push({ node: `n${i}`, at: this.nowReal, kind: 'lift' });
  }

  /** The controller writes the status; agents that reach the API server read it one round trip later. */
  private setStatus(node: string): void {
    this.status = node;
    this.agents.forEach((b, j) => {
      this.at(this.nowReal + this.scenario.apiRttMs, () => {
        if (this.nowReal < (this.apiDown.get(j) ?? -Infinity)) return;
        this.sync(b);
      });
    });
  }

  /** Reads of the other members' heartbeat Leases, answered at a random instant of the round trip. */
  private readEvictions(a: SimAgent): void {
    const i = this.agents.indexOf(a);
    if (this.nowReal < (this.apiDown.get(i) ?? -Infinity)) return;
    const sentAt = this.local(a);
    const rtt = this.scenario.apiRttMs;
    const answeredIn = this.random() * rtt;
    this.at(this.nowReal + answeredIn, () => {
      const evicted = this.agents.filter((_, j) => this.marked[j]).map((b) => b.name);
      const members = [...this.members];
      this.at(this.nowReal + (rtt - answeredIn), () =>
        this.input(a, { type: 'evictions', sentAt, evicted, members }),
      );
    });
  }

  private input(a: SimAgent, input: PeerInput): void {
    if (a.dead || a.left || this.nowReal < a.pausedUntil) return;
    const r = step(a.state, input, this.local(a));
    a.state = r.state;
    for (const action of r.actions) this.act(a, action);
    const gen = ++a.gen;
    this.at(this.realOf(a, r.wakeAt) + 1e-6, () => {
      if (a.gen === gen) this.input(a, { type: 'tick' });
    });
  }

  private act(a: SimAgent, action: PeerAction): void {
    const t = this.nowReal;
    const lag = this.scenario.withdrawLagMs;
    switch (action.type) {
      case 'take-over':
      case 'answer': {
        const end = Math.max(t, this.realOf(a, action.until)) + lag;
        if (a.current !== undefined && t < a.current.end) a.current.end = end;
        else {
          a.current = { node: a.name, start: t, end };
          this.intervals.push(a.current);
        }
        if (action.type === 'take-over') {
          this.takeovers.push({ node: a.name, at: t });
          const delay = this.scenario.recordDelayMs;
          if (delay !== undefined) this.at(t + delay, () => this.record(a));
        }
        break;
      }
      case 'withdraw':
        if (a.current !== undefined) a.current.end = Math.min(a.current.end, t + lag);
        a.current = undefined;
        break;
      case 'send-advert':
        this.send(a, action.advert);
        break;
      case 'heartbeat-now':
        this.heartbeat(this.agents.indexOf(a), false);
        break;
      case 'read-evictions':
        this.readEvictions(a);
        break;
    }
  }

  private record(a: SimAgent): void {
    if (a.dead || a.current === undefined || this.nowReal >= a.current.end || this.status === a.name) return;
    if (!this.inUse || !this.placeable(a)) return;
    this.status = a.name;
    for (const b of this.agents) this.input(b, { type: 'status', holders: this.holders() });
  }

  private send(from: SimAgent, advert: Advert): void {
    const { minDelayMs, maxDelayMs, lossRate } = this.scenario;
    const i = this.agents.indexOf(from);
    this.agents.forEach((to, j) => {
      if (j === i) return;
      if (this.nowReal < (this.blocked.get(`${i}>${j}`) ?? -Infinity)) return;
      if (this.random() < lossRate) return;
      const delay = minDelayMs + this.random() * (maxDelayMs - minDelayMs);
      this.at(this.nowReal + delay, () => this.input(to, { type: 'advert', advert }));
    });
  }
}
