import { PeerConfigError, type PeerTiming, validatePeerTiming } from './timing.js';
import { type Advert, type Backing, membersDigest } from './types.js';

/**
 * What one agent needs to know about its group. Fixed for the life of a {@link PeerState}, but for
 * `eips`, which the `eips` input replaces (a gateway's EIPs in use change without a restart), and
 * `members`, which the `members` input replaces when {@link changesMembersInPlace} allows it.
 */
export interface PeerConfig {
  /** The EgressGateway (group) name, carried in every advert. */
  readonly group: string;
  /** This agent's node name; must be in `members`. */
  readonly node: string;
  /**
   * The group's nodes ranked as the controller's placement ranks them for these EIPs (first = the
   * preferred successor). Every agent of the group must get the same list.
   */
  readonly members: readonly string[];
  /**
   * The EIPs of the group this agent may hold now (any stable strings, e.g. `10.6.1.55/fd00::55`);
   * see the `eips` input.
   */
  readonly eips: readonly string[];
  /** This run's epoch: its wall-clock start time in ms, higher than any earlier run's. */
  readonly epoch: number;
  /** Protocol timing; checked by {@link validatePeerTiming} in {@link initialPeerState}. */
  readonly timing: PeerTiming;
}

/** What this agent last heard from one peer. */
export interface PeerRecord {
  readonly epoch: number;
  readonly seq: number;
  /** Local time the advert was received. */
  readonly heardAt: number;
  readonly apiOk: boolean;
  readonly wants: readonly string[];
  readonly holds: readonly string[];
  readonly backing: Readonly<Record<string, Backing>>;
}

/** Per-EIP part of {@link PeerState}. */
export interface EipState {
  /** The node this agent backs for the EIP, if any. */
  readonly backing: string | undefined;
  /** This agent claims the EIP. */
  readonly wants: boolean;
  /** Seq of the first advert of the current claim; older acknowledgements do not count. */
  readonly claimSeq: number;
  /** After dropping a claim: the claim stays advertised until then (the withdraw has completed). */
  readonly releasingUntil: number;
  /** Per peer: lease end (local) from its acknowledgements of this claim. */
  readonly acks: Readonly<Record<string, number>>;
  /** Per peer: lease end from its newest acknowledgement of this claim sent with `apiOk = false`. */
  readonly cert: Readonly<Record<string, number>>;
  /** This agent answers for the EIP. */
  readonly holding: boolean;
  /** The right to answer last handed to the shell (the kernel lease), local time. */
  readonly until: number;
  /**
   * Backs nobody and claims nothing before this local time: D after the start (acknowledgements of
   * an earlier run have expired by then), or D after the EIP left `config.eips` while this agent
   * backed another node for it (so a quick re-add cannot back a second holder beside the first).
   */
  readonly graceUntil: number;
}

/**
 * Everything one agent's protocol core remembers: plain, JSON-friendly data (infinities aside).
 * Only {@link step} produces new states; never mutate one.
 */
export interface PeerState {
  readonly config: PeerConfig;
  readonly startedAt: number;
  /** Seq of the last advert sent (0: none yet). */
  readonly seq: number;
  readonly lastSentAt: number;
  /** The last advert's content key, to send at once when it changes. */
  readonly lastSentKey: string;
  /** Recent own adverts: [seq, local send time], oldest first; older than L are dropped. */
  readonly sent: readonly (readonly [number, number])[];
  /** Local send time of the newest acknowledged API heartbeat. */
  readonly heartbeatAckedSentAt: number;
  readonly lastHeartbeatNowAt: number;
  /**
   * Local time from which the API right counts for an EIP the status does not name this node for
   * (J after the first clean acknowledgement since the start or an eviction; Infinity until then).
   * Only with `timing.rejoinDelayMs`.
   */
  readonly takeoverApiFrom: number;
  /** Until then (local) every other member was read marked evicted: see `evictions`. */
  readonly aloneUntil: number;
  /**
   * Not before then (local) does `aloneUntil` count: after a member left the list (the `members`
   * input, or `previousMembers` at the start), until the API right of a node that is no longer in
   * it (and may not have read that yet) has surely ended: `((E - M)/(1-ρ) + w)(1+ρ)`. Such a node is not among the members whose marks
   * are read, and can still answer on its API right and the acknowledgements of members that have
   * not read the change either.
   */
  readonly aloneAfter: number;
  /** Local time the last `read-evictions` was asked for. */
  readonly lastEvictionReadAt: number;
  readonly peers: Readonly<Record<string, PeerRecord>>;
  /**
   * Per EIP of `config.eips`, and per EIP that left it while its grace or release still runs (kept
   * so that a re-add within that time keeps them; dropped after).
   */
  readonly eips: Readonly<Record<string, EipState>>;
  /** The gateway status as last seen: EIP → node it names. */
  readonly status: Readonly<Record<string, string>>;
  /** This node hands its EIPs over before it stops (the `hand-over` input): it claims none. */
  readonly handingOver: boolean;
}

/** An input to {@link step}. */
export type PeerInput =
  /** Time passed (call at `wakeAt`, or any time). */
  | { readonly type: 'tick' }
  /** An advert that passed {@link decodeAdvert} and {@link admitAdvert}. */
  | { readonly type: 'advert'; readonly advert: Advert }
  /**
   * The API server acknowledged this agent's heartbeat sent at local time `sentAt`; `evicted`: the
   * renewal landed on a Lease the controller marked evicted (no acknowledgement: the API right does
   * not move, and the rejoin delay starts again at the next clean one).
   */
  | { readonly type: 'heartbeat-ack'; readonly sentAt: number; readonly evicted?: boolean }
  /**
   * The answer to `read-evictions`: the reads were sent at local time `sentAt`, and `evicted` lists
   * the members whose heartbeat Lease carried the controller's eviction mark. `members`, if given:
   * the group's members as read with the marks (the gateway's `status.nodeList`); a list that
   * differs from this agent's does not count it alone (a node it has not read joining may be backed
   * by evicted members that still live).
   */
  | {
      readonly type: 'evictions';
      readonly sentAt: number;
      readonly evicted: readonly string[];
      readonly members?: readonly string[];
    }
  /** The gateway status (the controller's placement) changed: EIP → node. */
  | { readonly type: 'status'; readonly holders: Readonly<Record<string, string>> }
  /**
   * The group's EIPs in use changed (replaces `config.eips`; the members cannot change this way).
   * An EIP that left is withdrawn at once and stays advertised as claimed until the withdraw has
   * completed; one that joined is claimed like any other (after the start grace, if that still
   * runs). Feed the new status first, so a joining EIP is placed where the status says.
   */
  | { readonly type: 'eips'; readonly eips: readonly string[] }
  /**
   * The group's members changed in a way {@link changesMembersInPlace} allows (throws
   * {@link PeerConfigError} otherwise: start a new state then). Members that left are forgotten
   * (their adverts and acknowledgements no longer count); where this agent backed one of them for
   * an EIP, it backs nobody for that EIP for D (the member may still answer on those
   * acknowledgements until it reads the change). The list also carries the new ranking.
   */
  | { readonly type: 'members'; readonly members: readonly string[] }
  /**
   * This node hands its EIPs over before it stops (a planned stop: the agent marked its tunnel
   * draining, and the controller moves its EIPs): it drops every claim at once (each EIP it answers
   * for is withdrawn, and advertised as released once the withdraw has completed) and claims
   * nothing for the rest of the run, so the node the controller moves an EIP to takes it over as
   * soon as it reads the move, without waiting for this node to read it too. It keeps backing the
   * other members' claims. One way only: a node that claimed again after the controller saw the
   * mark could answer on a status it has not read moving, beside the new holder (two-node groups
   * take the status as tie-breaker).
   */
  | { readonly type: 'hand-over' };

/** What the shell must do after a {@link step}, in order. */
export type PeerAction =
  /** Start answering for the EIP (bind it, announce it) with a kernel lease ending at `until`. */
  | {
      readonly type: 'take-over';
      readonly eip: string;
      readonly until: number;
      readonly from: string | undefined;
    }
  /** Keep answering; move the kernel lease end to `until`. */
  | { readonly type: 'answer'; readonly eip: string; readonly until: number }
  /** Stop answering for the EIP now. */
  | { readonly type: 'withdraw'; readonly eip: string; readonly reason: 'lease-lost' | 'released' }
  /** Authenticate ({@link encodeAdvert}) and send this advert to every member. */
  | { readonly type: 'send-advert'; readonly advert: Advert }
  /** A peer reaches the API server and this agent does not: write a heartbeat now. */
  | { readonly type: 'heartbeat-now' }
  /**
   * This holder lost its peer majority while its API right runs: read the heartbeat Leases of the
   * other members (note the local time the reads are sent) and answer with an `evictions` input.
   */
  | { readonly type: 'read-evictions' };

/** Result of {@link step}. */
export interface StepResult {
  readonly state: PeerState;
  readonly actions: readonly PeerAction[];
  /** Local time at which to call {@link step} with a tick at the latest. */
  readonly wakeAt: number;
}

/** The smallest number of members that is a majority of `n`. */
function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * Whether a running core of `node` may take `next` as its members in place of `current` (the
 * `members` input) instead of starting anew: both have three or more distinct members, `node` is in
 * both, and every majority of one meets every majority of the other (true when one node joins or
 * leaves; false for most larger changes), so agents that count with the old list and agents that
 * count with the new one cannot both find a majority of different holders. Two-member groups use the
 * API server as tie-breaker and are left out.
 *
 * @example
 * ```ts
 * changesMembersInPlace(['a', 'b', 'c'], ['a', 'b', 'c', 'd'], 'a'); // true
 * changesMembersInPlace(['a', 'b', 'c'], ['a', 'b', 'd', 'e', 'f'], 'a'); // false: start anew
 * ```
 */
export function changesMembersInPlace(
  current: readonly string[],
  next: readonly string[],
  node: string,
): boolean {
  const a = new Set(current);
  const b = new Set(next);
  if (a.size !== current.length || b.size !== next.length || a.size < 3 || b.size < 3) return false;
  if (!a.has(node) || !b.has(node)) return false;
  const union = new Set([...a, ...b]).size;
  return majority(a.size) + majority(b.size) > union;
}

/**
 * The core's state at start (local time `now`): backs nobody and claims nothing for D, so that
 * acknowledgements it gave in an earlier run have expired before it backs anyone again. The shell
 * must remove any EIP binding and kernel lease of an earlier run before the first {@link step}; the
 * first adverts still list every EIP as claimed for `withdrawMs`, so backers of the earlier run stay
 * until that removal has completed. `previousMembers`: the members of the run this one replaces
 * (a change of members the `members` input could not take); where one of them left, a holder counts
 * itself alone on eviction marks only once that node's API right has surely ended (see
 * {@link PeerState.aloneAfter}).
 * Throws {@link PeerConfigError} for unsafe timing or a node that is not a member.
 */
export function initialPeerState(
  config: PeerConfig,
  now: number,
  status: Readonly<Record<string, string>> = {},
  previousMembers: readonly string[] = [],
): PeerState {
  validatePeerTiming(config.timing);
  if (!config.members.includes(config.node)) {
    throw new PeerConfigError('node', `node: ${config.node} is not in members; add it or fix the node name`);
  }
  if (new Set(config.members).size !== config.members.length) {
    throw new PeerConfigError('members', 'members: a node is listed twice; list each member once');
  }
  // A previous run may have answered until a moment ago: its binding is removed by the shell before
  // the first step, and until that removal has surely completed (w on a clock that may run fast) the
  // EIPs stay advertised as claimed, so nobody who backed the previous run moves its backing yet.
  const releasingUntil = now + config.timing.withdrawMs * (1 + config.timing.maxClockRateError);
  const eips: Record<string, EipState> = {};
  for (const e of config.eips) eips[e] = freshEip(releasingUntil, now + config.timing.deadIntervalMs);
  return {
    config,
    startedAt: now,
    seq: 0,
    lastSentAt: -Infinity,
    lastSentKey: '',
    sent: [],
    heartbeatAckedSentAt: -Infinity,
    lastHeartbeatNowAt: -Infinity,
    takeoverApiFrom: Infinity,
    aloneUntil: -Infinity,
    aloneAfter: previousMembers.some((k) => !config.members.includes(k))
      ? leaverRightEnds(config.timing, now)
      : -Infinity,
    lastEvictionReadAt: -Infinity,
    peers: {},
    eips,
    status: { ...status },
    handingOver: false,
  };
}

function freshEip(releasingUntil: number, graceUntil: number): EipState {
  return {
    backing: undefined,
    wants: false,
    claimSeq: 0,
    releasingUntil,
    acks: {},
    cert: {},
    holding: false,
    until: -Infinity,
    graceUntil,
  };
}

type WorkingEip = { -readonly [K in keyof EipState]: EipState[K] } & {
  acks: Record<string, number>;
  cert: Record<string, number>;
};

/** Local time by which the API right of a node that left the list at `now` has surely ended. */
function leaverRightEnds(timing: PeerTiming, now: number): number {
  const { evictionTimeoutMs: E, fenceMarginMs: M, withdrawMs: w, maxClockRateError: rho } = timing;
  return now + ((E - M) / (1 - rho) + w) * (1 + rho);
}

/**
 * Drops this agent's claim on `e` (if any): the claim stays advertised until the withdraw has
 * completed (w on a clock that may run fast), and an EIP it answers for is withdrawn now.
 */
function dropClaim(s: WorkingEip, e: string, now: number, timing: PeerTiming, actions: PeerAction[]): void {
  if (s.wants) {
    s.wants = false;
    s.acks = {};
    s.cert = {};
    s.releasingUntil = now + timing.withdrawMs * (1 + timing.maxClockRateError);
  }
  if (s.holding) {
    s.holding = false;
    s.until = -Infinity;
    actions.push({ type: 'withdraw', eip: e, reason: 'released' });
  }
}

function sentAt(sent: PeerState['sent'], seq: number): number | undefined {
  for (let i = sent.length - 1; i >= 0; i--) {
    const entry = sent[i] as readonly [number, number];
    if (entry[0] === seq) return entry[1];
    if (entry[0] < seq) return undefined;
  }
  return undefined;
}

/**
 * One transition of the agent's protocol core: apply `input` at local time `now` (a monotonic clock
 * whose rate errs by at most ρ), decide what to answer for, whom to back, and what to send. Pure: no
 * clock reads, no timers, no I/O. `wallNow` (default `now`) only stamps adverts for the replay window.
 *
 * @example
 * ```ts
 * let s = initialPeerState({ group: 'egw1', node: 'a', members: ['a', 'b', 'c'], eips: ['e1'], epoch: 1, timing: DEFAULT_PEER_TIMING }, 0, { e1: 'a' });
 * const r = step(s, { type: 'tick' }, 10);
 * s = r.state; // r.actions: [{ type: 'send-advert', ... }]; call again by r.wakeAt
 * ```
 */
export function step(state: PeerState, input: PeerInput, now: number, wallNow: number = now): StepResult {
  let { config } = state;
  const { node: me, timing } = config;
  const { deadIntervalMs: D, leaseMs: L, advertPeriodMs: P } = timing;
  const peers: Record<string, PeerRecord> = { ...state.peers };
  const eips: Record<string, WorkingEip> = {};
  for (const [e, s] of Object.entries(state.eips))
    eips[e] = { ...s, acks: { ...s.acks }, cert: { ...s.cert } };
  let status = state.status;
  let heartbeatAckedSentAt = state.heartbeatAckedSentAt;
  let { takeoverApiFrom, aloneUntil, aloneAfter, lastEvictionReadAt, handingOver } = state;
  const J = timing.rejoinDelayMs;
  let readDue = false;
  const actions: PeerAction[] = [];

  switch (input.type) {
    case 'advert': {
      const a = input.advert;
      const ownDigest = membersDigest(config.members);
      const prev = peers[a.node];
      const fresh =
        a.group === config.group &&
        a.node !== me &&
        config.members.includes(a.node) &&
        (prev === undefined || a.epoch > prev.epoch || (a.epoch === prev.epoch && a.seq > prev.seq));
      if (!fresh) break;
      peers[a.node] = {
        epoch: a.epoch,
        seq: a.seq,
        heardAt: now,
        apiOk: a.apiOk,
        wants: a.wants,
        holds: a.holds,
        backing: a.backing,
      };
      for (const [e, s] of Object.entries(eips)) {
        const b = a.backing[e];
        const mine =
          b !== undefined && b.holder === me && b.epoch === config.epoch && s.wants && b.seq >= s.claimSeq;
        const at = mine ? sentAt(state.sent, b.seq) : undefined;
        if (at === undefined) continue;
        s.acks[a.node] = Math.max(s.acks[a.node] ?? -Infinity, at + L);
        // "No API at the time of this ack" stays true until it expires: a peer that regains the API
        // does not cut the holder off at once (it gets `heartbeat-now` and L to write its own). It
        // certifies only from a peer that counts with this list: one that read a member joining
        // this agent has not read knows a node the certificate would say nothing about.
        if (!a.apiOk && a.membersDigest === ownDigest)
          s.cert[a.node] = Math.max(s.cert[a.node] ?? -Infinity, at + L);
      }
      break;
    }
    case 'heartbeat-ack':
      if (input.evicted === true) {
        takeoverApiFrom = Infinity;
        break;
      }
      heartbeatAckedSentAt = Math.max(heartbeatAckedSentAt, input.sentAt);
      if (J !== undefined && takeoverApiFrom === Infinity) takeoverApiFrom = now + J;
      break;
    case 'evictions': {
      // Every other member marked when the server answered (after `sentAt`): none of them gets an
      // API right for a take-over before J of its time after that, so this read is relied on for a
      // little less (withdraw included, on a clock that may run fast).
      const others = config.members.filter((k) => k !== me);
      const read = input.members;
      const sameList =
        read === undefined ||
        (new Set(read).size === config.members.length && config.members.every((k) => read.includes(k)));
      if (
        J !== undefined &&
        sameList &&
        others.length > 0 &&
        others.every((k) => input.evicted.includes(k))
      ) {
        const { maxClockRateError: rho, withdrawMs: w } = timing;
        aloneUntil = Math.max(aloneUntil, input.sentAt + (J / (1 + rho) - w) * (1 - rho));
      }
      break;
    }
    case 'status':
      status = { ...input.holders };
      break;
    case 'hand-over':
      handingOver = true;
      break;
    case 'eips': {
      const next = [...new Set(input.eips)];
      for (const e of config.eips) {
        const s = eips[e] as WorkingEip;
        if (next.includes(e)) continue;
        // Acknowledgements this agent gave another holder count until L after its last advert;
        // a re-add within D must not back anyone before they have expired (as after a restart).
        if (s.backing !== undefined && s.backing !== me) s.graceUntil = Math.max(s.graceUntil, now + D);
        s.backing = undefined;
        dropClaim(s, e, now, timing, actions);
      }
      for (const e of next) eips[e] ??= freshEip(-Infinity, state.startedAt + D);
      config = { ...config, eips: next };
      break;
    }
    case 'members': {
      const next = [...input.members];
      if (!changesMembersInPlace(config.members, next, me)) {
        throw new PeerConfigError(
          'members',
          `members: ${config.members.join(',')} -> ${next.join(',')} cannot change in place (majorities of the two lists need not meet); start a new state`,
        );
      }
      const gone = config.members.filter((k) => !next.includes(k));
      for (const k of gone) delete peers[k];
      if (gone.length > 0) aloneAfter = Math.max(aloneAfter, leaverRightEnds(timing, now));
      for (const s of Object.values(eips)) {
        for (const k of gone) {
          delete s.acks[k];
          delete s.cert[k];
        }
        if (s.backing !== undefined && gone.includes(s.backing)) {
          s.backing = undefined;
          s.graceUntil = Math.max(s.graceUntil, now + D);
        }
      }
      config = { ...config, members: next };
      break;
    }
    case 'tick':
      break;
  }

  const { members } = config;
  const n = members.length;
  const alive = (k: string): boolean => {
    const p = peers[k];
    return p !== undefined && now - p.heardAt < D;
  };
  // A node that dropped its claim still counts as claiming (and so keeps backing itself) until its
  // withdraw has completed: otherwise it could back a successor while it still answers.
  const claims = (k: string, e: string): boolean =>
    k === me
      ? (eips[e]?.wants ?? false) || now < (eips[e]?.releasingUntil ?? -Infinity)
      : alive(k) && (peers[k]?.wants.includes(e) ?? false);
  const apiEnd = heartbeatAckedSentAt + timing.evictionTimeoutMs - timing.fenceMarginMs;
  const apiOk = now - heartbeatAckedSentAt <= timing.apiOkWindowMs;

  const designated = (e: string): string | undefined => {
    const named = status[e];
    if (named === me) return me;
    if (named !== undefined && claims(named, e)) return named;
    const holder = members.find((k) => k !== me && alive(k) && peers[k]?.holds.includes(e));
    if (holder !== undefined) return holder;
    if (eips[e]?.holding) return me;
    if (named !== undefined && members.includes(named) && (alive(named) || peers[named] === undefined))
      return named;
    return members.find((k) => k === me || alive(k));
  };

  for (const e of config.eips) {
    const s = eips[e] as WorkingEip;
    const inGrace = now < s.graceUntil;
    const want = !inGrace && !handingOver && designated(e) === me;
    if (want && !s.wants) {
      s.wants = true;
      s.claimSeq = state.seq + 1;
      s.acks = {};
      s.cert = {};
    } else if (!want && s.wants) {
      dropClaim(s, e, now, timing, actions);
    }

    // Backing: sticky; moves only when the backed node stopped claiming or went silent for D.
    if (inGrace) s.backing = undefined;
    else if (s.backing === undefined || !claims(s.backing, e)) {
      const d = designated(e);
      s.backing = d !== undefined && claims(d, e) ? d : members.find((k) => claims(k, e));
    }

    let right = -Infinity;
    if (s.wants) {
      const votes = Object.values(s.acks).sort((x, y) => y - x);
      if (s.backing === me) votes.unshift(Infinity);
      const leaseEnd = votes[Math.floor(n / 2)] ?? -Infinity;
      let certEnd = n >= 2 ? Infinity : -Infinity;
      for (const k of members) if (k !== me) certEnd = Math.min(certEnd, s.cert[k] ?? -Infinity);
      // A take-over (the status names someone else) counts the API right only once it rejoined.
      const api = status[e] === me || J === undefined || now >= takeoverApiFrom ? apiEnd : -Infinity;
      right = Math.min(leaseEnd, Math.max(api, certEnd));
      if (status[e] === me && s.backing === me) {
        // Two nodes: no majority without both, so the API server is the tie-breaker.
        if (n === 2) right = Math.max(right, apiEnd);
        // Every other member read evicted: none of them can answer, so the API right alone counts
        // (once a node that left the list can no longer answer either).
        if (now < aloneUntil && now >= aloneAfter) right = Math.max(right, Math.min(apiEnd, aloneUntil));
        // The peer majority is lost (or about to be) while the API right runs: ask for the marks.
        // Not while a fresh claim waits for its first acknowledgements (its first advert within L).
        if (
          J !== undefined &&
          n >= 3 &&
          leaseEnd < now + L / 2 &&
          apiEnd > now &&
          aloneUntil < now + J / 2 &&
          s.claimSeq <= state.seq &&
          sentAt(state.sent, s.claimSeq) === undefined
        ) {
          readDue = true;
          if (now - lastEvictionReadAt >= J / 3) {
            lastEvictionReadAt = now;
            actions.push({ type: 'read-evictions' });
          }
        }
      }
    }
    const hold = s.wants && now < right;
    if (hold && !s.holding) {
      s.holding = true;
      s.until = right;
      const from = status[e] !== me ? status[e] : undefined;
      actions.push({ type: 'take-over', eip: e, until: right, from });
    } else if (hold && right !== s.until) {
      s.until = right;
      actions.push({ type: 'answer', eip: e, until: right });
    } else if (!hold && s.holding) {
      s.holding = false;
      s.until = -Infinity;
      actions.push({ type: 'withdraw', eip: e, reason: 'lease-lost' });
    }
  }

  let lastHeartbeatNowAt = state.lastHeartbeatNowAt;
  if (
    !apiOk &&
    now - lastHeartbeatNowAt >= P &&
    members.some((k) => k !== me && alive(k) && peers[k]?.apiOk)
  ) {
    lastHeartbeatNowAt = now;
    actions.push({ type: 'heartbeat-now' });
  }

  // EIPs that left the list: kept while their grace or release runs, then forgotten.
  const listed = new Set(config.eips);
  for (const [e, s] of Object.entries(eips))
    if (!listed.has(e) && now >= s.graceUntil && now >= s.releasingUntil) delete eips[e];

  // The advert: sent every P, and at once when its content changes. An EIP whose claim was dropped
  // (or that left the list) stays among the wants until its withdraw has completed.
  const wants = Object.keys(eips).filter(
    (e) => eips[e]?.wants || now < (eips[e]?.releasingUntil ?? -Infinity),
  );
  const holds = config.eips.filter((e) => eips[e]?.holding);
  const key = JSON.stringify([wants, holds, apiOk, config.eips.map((e) => eips[e]?.backing ?? '')]);
  let { seq, lastSentAt, sent } = state;
  if (key !== state.lastSentKey || now >= lastSentAt + P) {
    seq += 1;
    lastSentAt = now;
    sent = [...sent.filter(([, at]) => at + L > now), [seq, now] as const];
    const backing: Record<string, Backing> = {};
    for (const e of config.eips) {
      const b = eips[e]?.backing;
      if (b === me) backing[e] = { holder: me, epoch: config.epoch, seq };
      else if (b !== undefined) {
        const p = peers[b] as PeerRecord;
        backing[e] = { holder: b, epoch: p.epoch, seq: p.seq };
      }
    }
    actions.push({
      type: 'send-advert',
      advert: {
        group: config.group,
        node: me,
        epoch: config.epoch,
        seq,
        sentAtWall: wallNow,
        apiOk,
        wants,
        holds,
        backing,
        membersDigest: membersDigest(members),
      },
    });
  }

  let wakeAt = lastSentAt + P;
  const soon = (t: number) => {
    if (t > now && t < wakeAt) wakeAt = t;
  };
  if (apiOk) soon(heartbeatAckedSentAt + timing.apiOkWindowMs + 1e-6);
  soon(takeoverApiFrom);
  soon(aloneUntil);
  if (aloneUntil > now) soon(aloneAfter);
  // The next read of the eviction marks: J/3 after the last one while one is due, and while the
  // marks are relied on, when less than J/2 of that is left.
  if (J !== undefined) {
    if (readDue) soon(lastEvictionReadAt + J / 3);
    if (aloneUntil > now) soon(aloneUntil - J / 2);
  }
  for (const k of members) if (k !== me && alive(k)) soon((peers[k] as PeerRecord).heardAt + D);
  for (const s of Object.values(eips)) {
    if (s.holding) soon(s.until);
    soon(s.releasingUntil);
    soon(s.graceUntil);
  }

  return {
    state: {
      config,
      startedAt: state.startedAt,
      seq,
      lastSentAt,
      lastSentKey: key,
      sent,
      heartbeatAckedSentAt,
      lastHeartbeatNowAt,
      takeoverApiFrom,
      aloneUntil,
      aloneAfter,
      lastEvictionReadAt,
      peers,
      eips,
      status,
      handingOver,
    },
    actions,
    wakeAt,
  };
}
