import type { PeerClaim } from '@egressgateway/crds';
import type { Clock, EventRecorder, Logger } from '@egressgateway/kube';
import {
  type Advert,
  changesMembersInPlace,
  initialPeerState,
  type PeerState,
  type PeerTiming,
  type StepResult,
  step,
} from '@egressgateway/peers';
import type { AgentMetrics } from './metrics.js';
import type { PeerGroupView } from './peer-groups.js';

/** Why a gateway runs on today's API fencing instead of the peer protocol. */
export type PeerFallbackReason =
  /** No HMAC key (the Secret is missing or empty): nothing can be signed or verified. */
  | 'no-key'
  /** The peer UDP port could not be opened (in use, no address): nothing can be sent or received. */
  | 'no-port'
  /** No valid advert from any member since the start (or the last key change) for `fallbackAfterMs`. */
  | 'silent'
  /** The gateway has this node alone: there is nobody to agree with. */
  | 'single-member'
  /** The core refused the group (e.g. a node listed twice); the log line says why. */
  | 'invalid';

/** Why a gateway runs on API fencing, for people (`reason` of a fallback, see {@link PeerFallbackReason}). */
export function fallbackDetail(reason: PeerFallbackReason, fallbackAfterMs: number): string {
  switch (reason) {
    case 'no-key':
      return 'no peer key loaded (create the peer key Secret, see docs/operations.md "Gateway peers")';
    case 'no-port':
      return 'the peer UDP port could not be opened (see the agent log)';
    case 'silent':
      return `no valid advert from any peer for ${fallbackAfterMs} ms (is UDP port blocked between the gateway nodes?)`;
    case 'single-member':
      return 'the gateway has this node alone';
    case 'invalid':
      return 'the peer group was refused (see the agent log)';
  }
}

/**
 * A take-over to claim in the API (see `PEER_CLAIM_ANNOTATION`): an EIP this node's core holds that
 * the gateway status places on another node (the annotation's entry without its time).
 */
export type PeerTakeoverClaim = Omit<PeerClaim, 'at'>;

/** What {@link PeerDriver} needs. */
export interface PeerDriverOptions {
  clock: Clock;
  /** Wall-clock ms for epochs and the adverts' replay-window stamp (default `Date.now`). */
  wallNow?: () => number;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  events?: Pick<EventRecorder, 'record'> | undefined;
  nodeName: string;
  /** Protocol timing, already checked with `validatePeerTiming`. */
  timing: PeerTiming;
  /** A gateway none of whose members was heard from for this long runs on API fencing. */
  fallbackAfterMs: number;
  /** The gateways this node is a member of, from the caches. */
  groups(): readonly PeerGroupView[];
  /** True while at least one HMAC key is loaded. */
  hasKey(): boolean;
  /** False when the transport could not be opened (default: open). */
  portOpen?(): boolean;
  /** Sign and send an advert to the members of its group. */
  send(advert: Advert): void;
  /** Write a heartbeat now (a peer reaches the API server and this node does not). */
  heartbeatNow(): void;
  /** The EIPs this node should bind changed (a take-over, a withdraw, a mode change): re-apply. */
  changed(): void;
  /** The lease end of a held EIP moved: renew the kernel leases (see {@link PeerDriver.leaseUntil}). */
  renew(): void;
  /**
   * Reads the heartbeat Leases of `members` and the nodes of `gateway`, and resolves to the members
   * the controller marked evicted (a member whose Lease cannot be read counts as not evicted) and the
   * gateway's nodes as read (`members`; absent: not compared). Without it, a core's `read-evictions`
   * is not answered and a holder without a peer majority stays fenced.
   */
  readEvictions?(members: readonly string[], gateway: string): Promise<EvictionRead>;
}

/** What a read of the eviction marks found (see {@link PeerDriverOptions.readEvictions}). */
export interface EvictionRead {
  /** The members whose heartbeat Lease carries the controller's eviction mark. */
  readonly evicted: readonly string[];
  /** The gateway's nodes (`status.nodeList`) read beside the marks; absent: not compared. */
  readonly members?: readonly string[];
  /** Why the read cannot be relied on (the gateway could not be read); `evicted` is empty then. */
  readonly error?: string;
}

interface GroupRun {
  view: PeerGroupView;
  /**
   * The members (sorted): a change the core can take in place (`changesMembersInPlace`: one node
   * joining or leaving a group of three or more) goes to it as a `members` input, any other starts
   * a new run of the group. EIPs joining or leaving go to the running core as an `eips` input.
   */
  shape: string;
  state: PeerState | undefined;
  builtAt: number;
  /** An advert of a member was admitted since the run started (or since the key came back). */
  heard: boolean;
  fallback: PeerFallbackReason | undefined;
  /** EIP key → kernel lease end (clock ms) while the core holds it. */
  held: Map<string, number>;
  /** EIP key → the node the status named when the core took the EIP (what a claim names as `from`). */
  takenFrom: Map<string, string | undefined>;
  wakeAt: number;
  /** The members last read marked evicted (logged when it changes, not on every read). */
  marks?: string;
}

/**
 * Turns the pure peer core (`@egressgateway/peers`' `step()`) into a running part of the agent: one
 * core state per gateway this node is a member of, fed with admitted adverts, acknowledged
 * heartbeats and the gateway status, stepped again at the `wakeAt` it asks for (on the injected
 * clock), and its actions mapped onto the agent: `take-over`/`withdraw` change the EIPs to bind
 * ({@link PeerDriver.eipsToBind}, applied through the agent's binder path), `answer` moves the
 * kernel lease ({@link PeerDriver.leaseUntil}), `send-advert` goes to the transport,
 * `heartbeat-now` to the heartbeater.
 *
 * A gateway falls back to today's behaviour (the status decides, the API fence limits) when there
 * is no key, when it has one member, or when no member was heard from for `fallbackAfterMs` after
 * the start (UDP blocked); it leaves the fallback when a member's advert is admitted. The fallback
 * is a metric, a warning log line and a `PeerFallback` Event on the EgressGateway.
 */
export class PeerDriver {
  private readonly runs = new Map<string, GroupRun>();
  private lastEpoch = 0;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private statusEipsBound = false;
  private keyLoaded: boolean;
  private handingOver = false;

  constructor(private readonly o: PeerDriverOptions) {
    this.keyLoaded = o.hasKey();
  }

  /** Reads the gateways again (call on every cache change and when the keys change). */
  refresh(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const hasKey = this.o.hasKey();
    if (hasKey !== this.keyLoaded) {
      this.keyLoaded = hasKey;
      this.o.log.info({ hasKey }, hasKey ? 'peer key loaded' : 'peer key gone');
      // Only adverts verified with the keys now loaded count as heard.
      for (const run of this.runs.values()) run.heard = false;
    }
    const seen = new Set<string>();
    let changed = false;
    for (const view of this.o.groups()) {
      seen.add(view.name);
      const shape = JSON.stringify([...view.members].sort());
      const run = this.runs.get(view.name);
      // One node joining or leaving a group of three or more keeps the run (the core takes the new
      // members); other changes of members start a new one.
      const inPlace =
        run?.state !== undefined &&
        run.shape !== shape &&
        changesMembersInPlace(run.state.config.members, view.members, this.o.nodeName);
      if (run === undefined || (run.shape !== shape && !inPlace)) {
        if ((run?.held.size ?? 0) > 0) changed = true;
        this.runs.set(view.name, this.build(view, shape, now, run?.state?.config.members));
        changed = true;
        continue;
      }
      const statusMoved = JSON.stringify(run.view.holders) !== JSON.stringify(view.holders);
      const before = run.view.members;
      run.view = view;
      run.shape = shape;
      if (run.state === undefined) continue;
      // The status first: an EIP that joins is then placed where the status says from its first step.
      if (statusMoved)
        this.apply(run, step(run.state, { type: 'status', holders: view.holders }, now, this.wall()));
      // A new ranking of the same members follows too (the nodes' loads changed): every agent of the
      // group must rank alike, or after a holder's death each may claim for itself and none wins.
      const ranked = run.state.config.members.join('\n') !== view.members.join('\n');
      if (
        inPlace ||
        (ranked && changesMembersInPlace(run.state.config.members, view.members, this.o.nodeName))
      ) {
        if (inPlace)
          this.o.log.info(
            {
              gateway: view.name,
              joined: view.members.filter((m) => !before.includes(m)),
              left: before.filter((m) => !view.members.includes(m)),
            },
            'peer group members changed',
          );
        this.apply(run, step(run.state, { type: 'members', members: view.members }, now, this.wall()));
        if (inPlace) changed = true;
      }
      const eips = view.eips.map((e) => e.key);
      const had = run.state.config.eips;
      if (eips.join('\n') !== had.join('\n')) {
        this.o.log.info(
          {
            gateway: view.name,
            added: eips.filter((e) => !had.includes(e)),
            removed: had.filter((e) => !eips.includes(e)),
          },
          'peer group eips changed',
        );
        this.apply(run, step(run.state, { type: 'eips', eips }, now, this.wall()));
        // The EIPs the cores manage changed: the agent's choice of what to bind and for how long
        // (the status's EIPs on the API fence, or the cores' on their leases) must be made again.
        changed = true;
      }
    }
    for (const [name, run] of this.runs) {
      if (seen.has(name)) continue;
      this.runs.delete(name);
      this.o.metrics?.peerMode.remove({ gateway: name, mode: 'peers' });
      this.o.metrics?.peerMode.remove({ gateway: name, mode: 'fallback' });
      this.o.metrics?.peersAlive.remove({ gateway: name });
      if (run.held.size > 0) changed = true;
    }
    if (this.checkModes(now)) changed = true;
    if (changed) this.o.changed();
    this.schedule();
  }

  /** An advert the transport admitted (tag, source, window and sequence checked). */
  advert(advert: Advert): void {
    const run = this.runs.get(advert.group);
    if (this.stopped || run?.state === undefined || !run.view.members.includes(advert.node)) return;
    this.o.metrics?.peerAdvertsReceived.inc();
    const now = this.o.clock.now();
    run.heard = true;
    const modeChanged = this.checkModes(now);
    this.apply(run, step(run.state, { type: 'advert', advert }, now, this.wall()));
    if (modeChanged) this.o.changed();
    this.schedule();
  }

  /**
   * The API server answered a heartbeat sent at `sentAt` (clock ms); `evicted`: the renewal came
   * back evicted (no acknowledgement; the rejoin delay starts again at the next clean one).
   */
  heartbeatAcked(sentAt: number, evicted = false): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    for (const run of this.runs.values()) {
      if (run.state !== undefined)
        this.apply(run, step(run.state, { type: 'heartbeat-ack', sentAt, evicted }, now, this.wall()));
    }
    this.schedule();
  }

  /**
   * A planned stop hands this node's EIPs over: every core drops its claims at once and claims
   * nothing for the rest of this agent's life (cores started later too), so the node the
   * controller moves an EIP to takes it over as soon as it reads the move. Call before the datapath
   * releases the EIPs and the tunnel is marked draining. One way: the agent stops after it.
   */
  handOver(): void {
    if (this.stopped || this.handingOver) return;
    this.handingOver = true;
    const now = this.o.clock.now();
    for (const run of this.runs.values())
      if (run.state !== undefined) this.apply(run, step(run.state, { type: 'hand-over' }, now, this.wall()));
    this.o.log.info({ gateways: [...this.runs.keys()] }, 'peer hand-over: claiming nothing from now on');
    this.schedule();
  }

  /** A core lost its peer majority while its API right runs: read the other members' eviction marks. */
  private readEvictions(run: GroupRun): void {
    const read = this.o.readEvictions;
    const state = run.state;
    if (read === undefined || state === undefined) return;
    const { members, node } = state.config;
    const sentAt = this.o.clock.now();
    read(
      members.filter((m) => m !== node),
      run.view.name,
    ).then(
      ({ evicted, members: listed, error }) => {
        // Only the run that asked (a change of members starts a new one).
        if (this.stopped || this.runs.get(run.view.name) !== run || run.state === undefined) return;
        // Logged when it changes, not on every read (every J/3 while the majority is lost).
        const marks = error !== undefined ? `!${error}` : [...evicted].sort().join(',');
        if (marks !== (run.marks ?? '')) {
          run.marks = marks;
          if (error !== undefined)
            this.o.log.warn(
              {
                gateway: run.view.name,
                err: error,
                fix: 'let the agent get egressgateways (the chart grants it with peers on)',
              },
              'peer majority lost: eviction marks not relied on, the gateway could not be read',
            );
          else
            this.o.log.info(
              { gateway: run.view.name, evicted, members: members.length },
              'peer majority lost: eviction marks read',
            );
        }
        this.apply(
          run,
          step(
            run.state,
            { type: 'evictions', sentAt, evicted, ...(listed !== undefined ? { members: listed } : {}) },
            this.o.clock.now(),
            this.wall(),
          ),
        );
        this.schedule();
      },
      (err: unknown) =>
        this.o.log.warn(
          { gateway: run.view.name, err: err instanceof Error ? err.message : String(err) },
          'eviction marks not read',
        ),
    );
  }

  /**
   * The EIP addresses to bind, given those the gateway status places on this node (`statusEips`,
   * empty while the API fence is up): gateways on the peer protocol contribute what their core
   * holds, whatever the status and the API fence say; gateways in fallback keep the status's.
   */
  eipsToBind(statusEips: readonly string[]): string[] {
    const peerManaged = new Set<string>();
    const out = new Set<string>();
    for (const run of this.runs.values()) {
      if (run.fallback !== undefined) continue;
      for (const e of run.view.eips) {
        for (const a of e.addresses) peerManaged.add(a);
        if (this.bindable(run, e.key)) for (const a of e.addresses) out.add(a);
      }
    }
    let fromStatus = false;
    for (const a of statusEips) {
      if (peerManaged.has(a)) continue;
      out.add(a);
      fromStatus = true;
    }
    this.statusEipsBound = fromStatus;
    return [...out].sort();
  }

  /**
   * The kernel lease (ms from now) for EIPs bound or renewed now: the earliest lease end of the EIPs
   * the cores hold, and `apiLeaseMs` (the API fence, see `FenceKeeper.bindLeaseMs`) when the last
   * {@link eipsToBind} also kept EIPs of the status; `apiLeaseMs` when the cores hold nothing.
   */
  leaseMs(apiLeaseMs: number): number {
    const until = this.leaseUntil();
    if (until === Number.POSITIVE_INFINITY) return apiLeaseMs;
    const peerMs = Math.max(0, until - this.o.clock.now());
    return this.statusEipsBound ? Math.min(apiLeaseMs, peerMs) : peerMs;
  }

  /**
   * Earliest lease end (clock ms) of the EIPs the cores hold or have just held (see
   * {@link eipsToBind}); +Infinity when there are none. An end already past makes
   * {@link leaseMs} 0: nothing is bound or renewed until the core's right runs again.
   */
  leaseUntil(): number {
    let until = Number.POSITIVE_INFINITY;
    for (const run of this.runs.values()) {
      if (run.fallback !== undefined) continue;
      for (const key of run.held.keys())
        if (this.bindable(run, key)) until = Math.min(until, run.held.get(key) as number);
    }
    return until;
  }

  /**
   * Whether the address of `key` stays bound: the core holds it, and its right has not ended more
   * than the dead interval D ago. A right that ran out moments before the core stepped (a busy
   * event loop right after a take-over, its acknowledgements still unread) keeps its address: the
   * kernel lease has silenced it already, and removing it would cost a re-bind when the core
   * renews it a few ms later. Nothing new is bound from it ({@link leaseMs} is 0 then). A right
   * that ended longer ago (a process frozen for a while) is no longer counted: other callbacks may
   * run before the core's timer, and an EIP bound from it would answer beside the successor that
   * took it over meanwhile.
   */
  private bindable(run: GroupRun, key: string): boolean {
    return this.holding(run, key, this.o.timing.deadIntervalMs);
  }

  /** Whether a core holds `key`: it took the EIP and its right ended no more than `slackMs` ago. */
  private holding(run: GroupRun, key: string, slackMs = 0): boolean {
    const until = run.held.get(key);
    return until !== undefined && until > this.o.clock.now() - slackMs;
  }

  /**
   * The take-overs to claim now: every EIP a core in peer mode holds (took over or answers for)
   * that the gateway status places on another node, as long as that is the node the status named
   * when the core took it. Empty once the status names this node or the core withdrew; a status that
   * moved the EIP to a third node is not claimed against (the core is releasing it then); a gateway
   * in fallback claims nothing (the status decides there).
   */
  claims(): PeerTakeoverClaim[] {
    const out: PeerTakeoverClaim[] = [];
    for (const run of this.runs.values()) {
      if (run.fallback !== undefined || run.state === undefined) continue;
      for (const key of run.held.keys()) {
        if (!this.holding(run, key)) continue;
        const from = run.view.holders[key];
        if (from === undefined || from === this.o.nodeName || run.takenFrom.get(key) !== from) continue;
        const eip = run.view.eips.find((e) => e.key === key);
        if (eip === undefined) continue;
        const slash = key.indexOf('/');
        out.push({
          gateway: run.view.name,
          ipv4: key.slice(0, slash),
          ipv6: key.slice(slash + 1),
          from,
          ...(run.view.version !== undefined ? { gatewayResourceVersion: run.view.version } : {}),
          epoch: run.state.config.epoch,
        });
      }
    }
    return out;
  }

  /** True while some core holds an EIP (the API fence must not withdraw every EIP then). */
  holdsAny(): boolean {
    return this.leaseUntil() !== Number.POSITIVE_INFINITY;
  }

  /** Per gateway: `peers`, or the fallback reason. */
  modes(): Record<string, 'peers' | PeerFallbackReason> {
    const out: Record<string, 'peers' | PeerFallbackReason> = {};
    for (const [name, run] of this.runs) out[name] = run.fallback ?? 'peers';
    return out;
  }

  /** The core state of a gateway (for tests and diagnostics). */
  state(gateway: string): PeerState | undefined {
    return this.runs.get(gateway)?.state;
  }

  /** Stops stepping (the agent withdraws everything itself). */
  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
  }

  private wall(): number {
    return (this.o.wallNow ?? Date.now)();
  }

  /** A new run of a group; `previousMembers`: those of the run it replaces, if any. */
  private build(
    view: PeerGroupView,
    shape: string,
    now: number,
    previousMembers: readonly string[] = [],
  ): GroupRun {
    const run: GroupRun = {
      view,
      shape,
      state: undefined,
      builtAt: now,
      heard: false,
      fallback: undefined,
      held: new Map(),
      takenFrom: new Map(),
      wakeAt: Number.POSITIVE_INFINITY,
    };
    if (view.members.length < 2) {
      run.fallback = 'single-member';
      this.reportMode(run, now);
      return run;
    }
    // A new run of the group numbers its adverts anew: its epoch must be above every earlier one.
    const epoch = Math.max(Math.floor(this.wall()), this.lastEpoch + 1);
    this.lastEpoch = epoch;
    try {
      const state = initialPeerState(
        {
          group: view.name,
          node: this.o.nodeName,
          members: view.members,
          eips: view.eips.map((e) => e.key),
          epoch,
          timing: this.o.timing,
        },
        now,
        view.holders,
        previousMembers,
      );
      this.o.log.info(
        { gateway: view.name, members: view.members, eips: view.eips.map((e) => e.key), epoch },
        'peer group started',
      );
      this.apply(run, step(state, { type: this.handingOver ? 'hand-over' : 'tick' }, now, this.wall()));
    } catch (err) {
      run.fallback = 'invalid';
      this.o.log.error({ gateway: view.name, err: (err as Error).message }, 'peer group refused');
    }
    if (run.fallback === undefined) run.fallback = this.unavailable();
    this.reportMode(run, now);
    return run;
  }

  /** Why no gateway can run the protocol now (no port, no key), if so. */
  private unavailable(): PeerFallbackReason | undefined {
    if (this.o.portOpen?.() === false) return 'no-port';
    return this.o.hasKey() ? undefined : 'no-key';
  }

  /** Enters and leaves the fallback of each group; true when some group changed mode. */
  private checkModes(now: number): boolean {
    const unavailable = this.unavailable();
    let any = false;
    for (const run of this.runs.values()) {
      if (run.state === undefined) continue;
      let next: PeerFallbackReason | undefined;
      if (unavailable !== undefined) next = unavailable;
      else if (run.heard) next = undefined;
      else if (run.fallback !== undefined || now >= run.builtAt + this.o.fallbackAfterMs) next = 'silent';
      if (next === run.fallback) continue;
      run.fallback = next;
      any = true;
      this.reportMode(run, now);
    }
    return any;
  }

  private reportMode(run: GroupRun, now: number): void {
    const gateway = run.view.name;
    const { metrics, log, events } = this.o;
    metrics?.peerMode.set({ gateway, mode: 'peers' }, run.fallback === undefined ? 1 : 0);
    metrics?.peerMode.set({ gateway, mode: 'fallback' }, run.fallback === undefined ? 0 : 1);
    const involvedObject = {
      kind: 'EgressGateway',
      name: gateway,
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
    };
    if (run.fallback === undefined) {
      if (now > run.builtAt) {
        log.info({ gateway }, 'gateway peers heard: peer protocol decides');
        events?.record({
          type: 'Normal',
          reason: 'PeerProtocol',
          message: `node ${this.o.nodeName}: adverts of the gateway's peers are admitted again; the peer protocol decides`,
          involvedObject,
        });
      }
      return;
    }
    const detail = fallbackDetail(run.fallback, this.o.fallbackAfterMs);
    log.warn({ gateway, reason: run.fallback, detail }, 'gateway peers fallback: api fencing decides');
    // No key is a setting of the whole cluster, said once per agent in the log; an Event per gateway
    // and agent start would only repeat it.
    if (run.fallback === 'single-member' || run.fallback === 'no-key' || run.fallback === 'no-port') return;
    events?.record({
      type: 'Warning',
      reason: 'PeerFallback',
      message: `node ${this.o.nodeName}: ${detail}; failover goes through the API server as without peers`,
      involvedObject,
    });
  }

  private apply(run: GroupRun, r: StepResult): void {
    run.state = r.state;
    run.wakeAt = r.wakeAt;
    const { metrics, log } = this.o;
    let setChanged = false;
    let untilMoved = false;
    for (const a of r.actions) {
      switch (a.type) {
        case 'take-over':
          run.held.set(a.eip, a.until);
          run.takenFrom.set(a.eip, run.view.holders[a.eip]);
          setChanged = true;
          if (a.from !== undefined) metrics?.peerTakeovers.inc({ gateway: run.view.name });
          log.info(
            {
              gateway: run.view.name,
              eip: a.eip,
              from: a.from,
              leaseMs: Math.round(a.until - this.o.clock.now()),
            },
            'peer take-over',
          );
          break;
        case 'answer':
          run.held.set(a.eip, a.until);
          untilMoved = true;
          break;
        case 'withdraw':
          run.held.delete(a.eip);
          run.takenFrom.delete(a.eip);
          setChanged = true;
          log.info({ gateway: run.view.name, eip: a.eip, reason: a.reason }, 'peer withdraw');
          break;
        case 'send-advert':
          metrics?.peerAdvertsSent.inc();
          this.o.send(a.advert);
          break;
        case 'heartbeat-now':
          this.o.heartbeatNow();
          break;
        case 'read-evictions':
          this.readEvictions(run);
          break;
      }
    }
    if (metrics !== undefined) {
      const D = this.o.timing.deadIntervalMs;
      const now = this.o.clock.now();
      const alive = Object.values(r.state.peers).filter((p) => now - p.heardAt < D).length;
      metrics.peersAlive.set({ gateway: run.view.name }, alive);
    }
    if (run.fallback !== undefined) return;
    if (setChanged) this.o.changed();
    // After a withdraw too: the kernel leases of the EIPs still held (other gateways' included) were
    // cut to the earliest peer lease end and may now run to their own.
    if (untilMoved || setChanged) this.o.renew();
  }

  /** One timer at the earliest `wakeAt` or fallback deadline of all groups. */
  private schedule(): void {
    if (this.stopped) return;
    let at = Number.POSITIVE_INFINITY;
    for (const run of this.runs.values()) {
      if (run.state === undefined) continue;
      at = Math.min(at, run.wakeAt);
      if (!run.heard && run.fallback === undefined) at = Math.min(at, run.builtAt + this.o.fallbackAfterMs);
    }
    if (at === this.timerAt) return;
    this.o.clock.clearTimeout(this.timer);
    this.timerAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    const { clock } = this.o;
    this.timer = clock.setTimeout(() => this.onTimer(), Math.max(0, at - clock.now()));
  }

  private onTimer(deferred = false): void {
    if (this.stopped) return;
    if (!deferred) {
      // Read what arrived while the event loop was busy first. After a stall (an apply, a spawn)
      // the timers run before the poll phase that delivers the adverts waiting in the socket, and
      // a tick now would end a right that an acknowledgement among them extends: a spurious
      // `lease-lost`, i.e. a withdraw and a re-bind of the EIP a few ms later. A 0 ms timer runs
      // after that poll phase. The kernel lease ends on time either way (it is the safety); an
      // advert stepped meanwhile does all a tick does, and re-arms the timer if its deadline moved.
      this.timer = this.o.clock.setTimeout(() => this.onTimer(true), 0);
      return;
    }
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.o.clock.now();
    const modeChanged = this.checkModes(now);
    for (const run of this.runs.values()) {
      if (run.state !== undefined && run.wakeAt <= now)
        this.apply(run, step(run.state, { type: 'tick' }, now, this.wall()));
    }
    if (modeChanged) this.o.changed();
    this.schedule();
  }
}
