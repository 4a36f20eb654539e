import { describe, expect, it } from 'vitest';
import {
  changesMembersInPlace,
  initialPeerState,
  type PeerAction,
  type PeerInput,
  type PeerState,
  step,
} from './core.js';
import { DEFAULT_PEER_TIMING, PeerConfigError, type PeerTiming, validatePeerTiming } from './timing.js';
import { type Advert, membersDigest } from './types.js';

const T = DEFAULT_PEER_TIMING;

/** Three (or n) agents with perfect clocks; adverts are delivered instantly unless `cut` says otherwise. */
class Group {
  states = new Map<string, PeerState>();
  holding = new Map<string, boolean>();
  log: { at: number; node: string; action: PeerAction }[] = [];
  cut = new Set<string>(); // "from>to"
  /** Changes an advert on its way (from, to), e.g. to stand for a sender that counts with another list. */
  rewrite: ((from: string, to: string, advert: Advert) => Advert) | undefined;
  now = 0;

  /** Per node: every EIP it answers for now. */
  answering = new Map<string, Set<string>>();

  constructor(
    readonly members: string[],
    timing: PeerTiming = T,
    eips: Record<string, string> = { e1: members[0] as string },
  ) {
    for (const m of members) {
      this.answering.set(m, new Set());
      this.states.set(
        m,
        initialPeerState(
          { group: 'g', node: m, members, eips: Object.keys(eips), epoch: 1, timing },
          0,
          eips,
        ),
      );
    }
  }

  input(node: string, input: PeerInput): void {
    const r = step(this.states.get(node) as PeerState, input, this.now);
    this.states.set(node, r.state);
    for (const a of r.actions) {
      this.log.push({ at: this.now, node, action: a });
      if (a.type === 'take-over' && a.eip === 'e1') this.holding.set(node, true);
      if (a.type === 'withdraw' && a.eip === 'e1') this.holding.set(node, false);
      if (a.type === 'take-over') this.answering.get(node)?.add(a.eip);
      if (a.type === 'withdraw') this.answering.get(node)?.delete(a.eip);
      if (a.type === 'send-advert') {
        for (const to of this.members) {
          if (to !== node && !this.cut.has(`${node}>${to}`))
            this.input(to, { type: 'advert', advert: this.rewrite?.(node, to, a.advert) ?? a.advert });
        }
      }
    }
  }

  /** Advance in 5 ms steps, ticking every agent; `api` acks every agent's heartbeat each 500 ms when true. */
  run(until: number, api: (node: string) => boolean = () => true): void {
    for (; this.now <= until; this.now += 5) {
      for (const m of this.members) {
        if (this.now % 500 === 0 && api(m)) this.input(m, { type: 'heartbeat-ack', sentAt: this.now });
        this.input(m, { type: 'tick' });
      }
    }
  }

  holders(): string[] {
    return this.members.filter((m) => this.holding.get(m));
  }
}

describe('peer core step()', () => {
  it('claims nothing during the start grace D, then the status holder takes over with a majority', () => {
    const g = new Group(['a', 'b', 'c']);
    g.run(T.deadIntervalMs - 5);
    expect(g.holders()).toEqual([]);
    g.run(400);
    expect(g.holders()).toEqual(['a']);
    const take = g.log.find((l) => l.action.type === 'take-over');
    expect(take?.at).toBe(T.deadIntervalMs);
  });

  it('a holder cut from all peers (API still up) withdraws within L; a successor takes over only after D', () => {
    const g = new Group(['a', 'b', 'c']);
    g.run(500);
    const cutAt = g.now;
    for (const m of ['b', 'c']) {
      g.cut.add(`a>${m}`);
      g.cut.add(`${m}>a`);
    }
    g.run(cutAt + 600);
    const withdraw = g.log.find((l) => l.node === 'a' && l.action.type === 'withdraw');
    const take = g.log.find((l) => l.node === 'b' && l.action.type === 'take-over');
    expect(withdraw?.at).toBeLessThanOrEqual(cutAt + T.leaseMs);
    expect(take?.at).toBeGreaterThanOrEqual(cutAt + T.deadIntervalMs - T.advertPeriodMs);
    expect(take?.at).toBeGreaterThan((withdraw?.at as number) + T.withdrawMs);
    expect(g.holders()).toEqual(['b']);
  });

  it('an API outage for every agent: the holder keeps answering past S + E - M on the outage certificate', () => {
    const g = new Group(['a', 'b', 'c']);
    g.run(1_000);
    g.run(8_000, () => false); // last acked heartbeat at 1 000: the API fence alone would end at 3 500
    expect(g.holders()).toEqual(['a']);
    expect(g.log.filter((l) => l.action.type === 'withdraw')).toEqual([]);
  });

  it("an API outage for every agent, the holder's peers counting with a list it has not read (a node joined): no certificate, it fences at S + E - M", () => {
    const g = new Group(['a', 'b', 'c']);
    g.run(1_000);
    // b and c read d joining; a did not (its API path was down): their "no API" acknowledgements
    // say nothing about d, which may reach the API server and be given the EIP.
    const theirs = membersDigest(['a', 'b', 'c', 'd']);
    expect(theirs).not.toBe(membersDigest(['c', 'a', 'b']));
    g.rewrite = (_from, to, advert) => (to === 'a' ? { ...advert, membersDigest: theirs } : advert);
    g.run(5_000, () => false);
    const withdraw = g.log.find((l) => l.node === 'a' && l.action.type === 'withdraw');
    expect(withdraw?.at).toBe(1_000 + T.evictionTimeoutMs - T.fenceMarginMs);
    // An advert of an agent from before the digest certifies nothing either.
    const old = new Group(['a', 'b', 'c']);
    old.run(1_000);
    old.rewrite = (_from, to, advert) => {
      if (to !== 'a') return advert;
      const { membersDigest: _dropped, ...before } = advert;
      return before;
    };
    old.run(5_000, () => false);
    expect(old.log.find((l) => l.node === 'a' && l.action.type === 'withdraw')?.at).toBe(
      1_000 + T.evictionTimeoutMs - T.fenceMarginMs,
    );
  });

  it('an API outage for the holder alone: it fences at S + E - M while its peers reach the API', () => {
    const g = new Group(['a', 'b', 'c']);
    g.run(1_000);
    g.run(5_000, (m) => m !== 'a');
    const withdraw = g.log.find((l) => l.node === 'a' && l.action.type === 'withdraw');
    expect(withdraw?.at).toBe(1_000 + T.evictionTimeoutMs - T.fenceMarginMs);
  });

  it('two nodes: the status holder keeps its EIP on the API fence when its peer dies, and nobody takes over by peers', () => {
    const g = new Group(['a', 'b']);
    g.run(500);
    expect(g.holders()).toEqual(['a']);
    g.cut.add('b>a');
    g.cut.add('a>b');
    g.run(2_000);
    expect(g.holders()).toEqual(['a']);
    expect(g.log.filter((l) => l.node === 'b' && l.action.type === 'take-over')).toEqual([]);
  });

  it('refuses a node outside members and unsafe timing, naming the field', () => {
    expect(() =>
      initialPeerState({ group: 'g', node: 'x', members: ['a'], eips: [], epoch: 1, timing: T }, 0),
    ).toThrow(PeerConfigError);
    try {
      validatePeerTiming({ ...T, leaseMs: 190 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PeerConfigError);
      expect((e as PeerConfigError).field).toBe('leaseMs');
      expect((e as Error).message).toMatch(
        /lower leaseMs to at most \d+, or raise deadIntervalMs to at least \d+/,
      );
    }
    expect(() => validatePeerTiming({ ...T, advertPeriodMs: 80 })).toThrow(/advertPeriodMs/);
    expect(validatePeerTiming(T).maxMessageDelayMs).toBeCloseTo((150 / 1.01 - 100 / 0.99) / 2, 6);
  });
});

describe('EIPs joining and leaving a running group (the eips input)', () => {
  const eipsAt = (g: Group, node: string, holders: Record<string, string>) => {
    g.input(node, { type: 'status', holders });
    g.input(node, { type: 'eips', eips: Object.keys(holders) });
  };
  const withdrawsOf = (g: Group, eip: string, from = 0) =>
    g.log.filter((l) => l.at >= from && l.action.type === 'withdraw' && l.action.eip === eip);

  it('an EIP joins: its status holder answers for it after one round of acknowledgements, and the EIPs already held are never withdrawn', () => {
    const g = new Group(['a', 'b', 'c'], T, { e1: 'a' });
    g.run(500);
    expect(g.holders()).toEqual(['a']);
    const joinAt = g.now;
    // The controller places the new e2 on b; the agents read it at slightly different times.
    for (const m of ['c', 'b', 'a']) eipsAt(g, m, { e1: 'a', e2: 'b' });
    g.run(joinAt + 100);
    const take = g.log.find((l) => l.action.type === 'take-over' && l.action.eip === 'e2');
    expect(take?.node).toBe('b');
    expect(take?.at).toBe(joinAt);
    expect(withdrawsOf(g, 'e1')).toEqual([]);
    expect(g.holders()).toEqual(['a']);
    expect([...(g.answering.get('b') ?? [])]).toEqual(['e2']);
  });

  it('an EIP leaves: its holder withdraws it at once, keeps it among its wants until the withdraw completed, then forgets it; the others are untouched', () => {
    const g = new Group(['a', 'b', 'c'], T, { e1: 'a', e2: 'a' });
    g.run(500);
    expect([...(g.answering.get('a') ?? [])].sort()).toEqual(['e1', 'e2']);
    const leaveAt = g.now;
    eipsAt(g, 'a', { e1: 'a' });
    expect(withdrawsOf(g, 'e2', leaveAt).map((l) => [l.node, l.at, l.action])).toEqual([
      ['a', leaveAt, { type: 'withdraw', eip: 'e2', reason: 'released' }],
    ]);
    const adverts = (until: number) =>
      g.log.filter((l) => l.node === 'a' && l.at <= until && l.action.type === 'send-advert');
    const last = (until: number) => {
      const a = adverts(until).at(-1)?.action;
      return a?.type === 'send-advert' ? a.advert : undefined;
    };
    expect(last(leaveAt)?.wants).toContain('e2');
    expect(last(leaveAt)?.holds).not.toContain('e2');
    for (const m of ['b', 'c']) eipsAt(g, m, { e1: 'a' });
    g.run(leaveAt + 300);
    expect(last(g.now)?.wants).toEqual(['e1']);
    expect(Object.keys(g.states.get('a')?.eips ?? {})).toEqual(['e1']);
    expect(withdrawsOf(g, 'e1')).toEqual([]);
    expect(g.holders()).toEqual(['a']);
  });

  it('an EIP that leaves and comes back on another node: a member that backed the old holder backs nobody for it for D', () => {
    const g = new Group(['a', 'b', 'c'], T, { e1: 'a', e2: 'a' });
    g.run(500);
    const leaveAt = g.now;
    // b reads both changes first and claims e2 (the status names it); a has not read either yet,
    // and still answers for e2 on the acknowledgements b and c gave it before.
    eipsAt(g, 'b', { e1: 'a' });
    eipsAt(g, 'b', { e1: 'a', e2: 'b' });
    // c reads them: backing b at once would give b the majority {b, c} while a still answers on c's
    // earlier acknowledgements.
    eipsAt(g, 'c', { e1: 'a' });
    eipsAt(g, 'c', { e1: 'a', e2: 'b' });
    expect(g.states.get('c')?.eips.e2?.graceUntil).toBe(leaveAt + T.deadIntervalMs);
    g.run(leaveAt + T.deadIntervalMs - 5);
    expect([...(g.answering.get('b') ?? [])]).toEqual([]);
    // Meanwhile a, backed by nobody else for e2, let it go when its acknowledgements ran out.
    const aLost = withdrawsOf(g, 'e2', leaveAt).find((l) => l.node === 'a');
    expect(aLost?.action).toEqual({ type: 'withdraw', eip: 'e2', reason: 'lease-lost' });
    expect(aLost?.at).toBeLessThanOrEqual(leaveAt + T.leaseMs);
    // After c's grace, b answers for e2 (c backs it now); a keeps e1 throughout.
    eipsAt(g, 'a', { e1: 'a', e2: 'b' });
    g.run(leaveAt + T.deadIntervalMs + 100);
    expect([...(g.answering.get('b') ?? [])]).toEqual(['e2']);
    const bTook = g.log.find((l) => l.node === 'b' && l.action.type === 'take-over');
    expect(bTook?.at).toBeGreaterThanOrEqual(leaveAt + T.deadIntervalMs);
    expect([...(g.answering.get('a') ?? [])]).toEqual(['e1']);
    expect(withdrawsOf(g, 'e1')).toEqual([]);
  });
});

describe('a node handing its EIPs over before it stops (the hand-over input)', () => {
  const advertsOf = (g: Group, node: string, from: number) =>
    g.log.flatMap((l) =>
      l.node === node && l.at >= from && l.action.type === 'send-advert'
        ? [{ at: l.at, advert: l.action.advert }]
        : [],
    );

  it('the holder withdraws at once, is advertised as released once its withdraw completed, and the node the status moves to takes over as it reads the move', () => {
    const g = new Group(['a', 'b', 'c'], T, { e1: 'a' });
    g.run(500);
    expect(g.holders()).toEqual(['a']);
    const drainAt = g.now;
    g.input('a', { type: 'hand-over' });
    expect(g.log.filter((l) => l.at === drainAt && l.node === 'a').map((l) => l.action.type)).toContain(
      'withdraw',
    );
    expect(g.holders()).toEqual([]);
    // Still among a's wants until its withdraw surely completed (w on a clock that may run fast).
    const releasedAt = drainAt + T.withdrawMs * (1 + T.maxClockRateError);
    g.run(drainAt + 40);
    const adverts = advertsOf(g, 'a', drainAt);
    expect(adverts.filter((x) => x.at < releasedAt).every((x) => x.advert.wants.includes('e1'))).toBe(true);
    const released = adverts.find((x) => !x.advert.wants.includes('e1'));
    expect(released?.at).toBeGreaterThanOrEqual(releasedAt);
    expect(released?.at).toBeLessThan(releasedAt + 5 + 1e-9);
    // Nobody takes over while the status still names a (it lives, and the controller moves it).
    expect(g.holders()).toEqual([]);
    const moveAt = g.now;
    for (const m of ['b', 'c', 'a']) g.input(m, { type: 'status', holders: { e1: 'b' } });
    const take = g.log.find((l) => l.action.type === 'take-over' && l.action.eip === 'e1' && l.at >= drainAt);
    expect([take?.node, take?.at]).toEqual(['b', moveAt]);
    expect(g.holders()).toEqual(['b']);
  });

  it('a node handing over claims nothing the status gives it for the rest of its run, and keeps backing the holder of another EIP', () => {
    const g = new Group(['a', 'b', 'c'], T, { e1: 'a', e2: 'b' });
    g.run(500);
    g.input('c', { type: 'hand-over' });
    const from = g.now;
    for (const m of ['a', 'b', 'c']) g.input(m, { type: 'status', holders: { e1: 'a', e2: 'c' } });
    g.run(from + 1_000);
    expect(g.log.filter((l) => l.node === 'c' && l.at >= from && l.action.type === 'take-over')).toEqual([]);
    expect(g.states.get('c')?.handingOver).toBe(true);
    expect(g.states.get('c')?.eips.e1?.backing).toBe('a');
    expect([...(g.answering.get('a') ?? [])]).toEqual(['e1']);
    // b keeps e2 meanwhile: the status names c, which lives and does not claim it.
    expect([...(g.answering.get('b') ?? [])]).toEqual(['e2']);
  });
});

describe('members joining and leaving a running group (the members input)', () => {
  it('changes in place only where every majority of the old list meets every one of the new', () => {
    expect(changesMembersInPlace(['a', 'b', 'c'], ['a', 'b', 'c', 'd'], 'a')).toBe(true);
    expect(changesMembersInPlace(['a', 'b', 'c', 'd'], ['a', 'b', 'c'], 'a')).toBe(true);
    expect(changesMembersInPlace(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'e'], 'a')).toBe(true);
    // 2 of {a,b,c} and 3 of {a,b,c,d,e} can be disjoint: start anew.
    expect(changesMembersInPlace(['a', 'b', 'c'], ['a', 'b', 'c', 'd', 'e'], 'a')).toBe(false);
    expect(changesMembersInPlace(['a', 'b', 'c'], ['a', 'b', 'd'], 'a')).toBe(false);
    // Two members: the API server is the tie-breaker there; leaving, or this node not in both.
    expect(changesMembersInPlace(['a', 'b', 'c'], ['a', 'b'], 'a')).toBe(false);
    expect(changesMembersInPlace(['a', 'b', 'c'], ['b', 'c', 'd'], 'a')).toBe(false);
    expect(changesMembersInPlace(['a', 'b', 'c'], ['a', 'b', 'b', 'c'], 'a')).toBe(false);
    const s = initialPeerState(
      { group: 'g', node: 'a', members: ['a', 'b', 'c'], eips: [], epoch: 1, timing: T },
      0,
    );
    expect(() => step(s, { type: 'members', members: ['a', 'b', 'c', 'd', 'e'] }, 10)).toThrow(
      expect.objectContaining({ field: 'members' }),
    );
  });

  it('a node joins: the holder keeps answering without a gap, and counts the newcomer once it backs it', () => {
    const g = new Group(['a', 'b', 'c']);
    g.run(500);
    expect(g.holders()).toEqual(['a']);
    const joinAt = g.now;
    const all = ['a', 'b', 'c', 'd'];
    for (const m of ['a', 'b', 'c']) g.input(m, { type: 'members', members: all });
    // The newcomer starts its own run (start grace D, then it backs the status holder).
    g.members.push('d');
    g.answering.set('d', new Set());
    g.states.set(
      'd',
      initialPeerState({ group: 'g', node: 'd', members: all, eips: ['e1'], epoch: 1, timing: T }, joinAt, {
        e1: 'a',
      }),
    );
    g.run(joinAt + T.deadIntervalMs + 200);
    expect(g.log.filter((l) => l.at >= joinAt && l.action.type === 'withdraw')).toEqual([]);
    expect(g.holders()).toEqual(['a']);
    expect(g.states.get('a')?.eips.e1?.acks.d).toBeGreaterThan(g.now);
    // The group of four now needs three: with b and c cut off, a loses its right within L.
    const cutAt = g.now;
    for (const m of ['b', 'c']) {
      g.cut.add(`${m}>a`);
      g.cut.add(`a>${m}`);
    }
    g.run(cutAt + T.leaseMs + 10);
    expect(g.holders()).toEqual([]);
  });

  it('a node leaves: its acknowledgements stop counting, and a member that backed it for an EIP backs nobody for it for D', () => {
    const g = new Group(['a', 'b', 'c', 'd'], T, { e1: 'd' });
    g.run(500);
    expect(g.holders()).toEqual(['d']);
    const leaveAt = g.now;
    // d leaves the gateway; a, b and c read it (d itself has not yet, and still answers on their
    // acknowledgements); the status moves e1 to a.
    for (const m of ['a', 'b', 'c']) {
      g.input(m, { type: 'status', holders: { e1: 'a' } });
      g.input(m, { type: 'members', members: ['a', 'b', 'c'] });
    }
    expect(g.states.get('b')?.eips.e1?.graceUntil).toBe(leaveAt + T.deadIntervalMs);
    expect(Object.keys(g.states.get('a')?.peers ?? {}).sort()).toEqual(['b', 'c']);
    for (const m of ['b', 'c']) {
      g.cut.add(`${m}>d`);
      g.cut.add(`d>${m}`);
    }
    g.cut.add('a>d');
    g.cut.add('d>a');
    g.run(leaveAt + T.deadIntervalMs - 5);
    // a does not answer while b and c may still count for d.
    expect(g.answering.get('a')?.size).toBe(0);
    g.run(leaveAt + T.deadIntervalMs + 100);
    expect(g.holders()).toEqual(['a']);
    const dLost = g.log.find((l) => l.node === 'd' && l.action.type === 'withdraw');
    const aTook = g.log.find((l) => l.node === 'a' && l.action.type === 'take-over');
    expect(dLost?.at).toBeLessThan(aTook?.at as number);
  });
});

describe('the API server as tie-breaker (rejoinDelayMs set)', () => {
  const TJ: PeerTiming = { ...T, rejoinDelayMs: 900 };
  const reads = (g: Group, node: string) =>
    g.log.filter((l) => l.node === node && l.action.type === 'read-evictions').map((l) => l.at);

  it('a holder that lost its majority asks for the marks every J/3, answers again once every other member is read evicted, and not on a partial read', () => {
    const g = new Group(['a', 'b', 'c'], TJ);
    g.run(1_000);
    expect(g.holders()).toEqual(['a']);
    expect(reads(g, 'a')).toEqual([]);
    // b and c fall silent to a (dead, or a cut off): the lease ends after L, and a asks for the marks.
    for (const k of ['b', 'c']) {
      g.cut.add(`${k}>a`);
      g.cut.add(`a>${k}`);
    }
    g.run(1_600, (m) => m === 'a');
    const aHolds = () => g.holding.get('a') === true;
    expect(aHolds()).toBe(false);
    const asked = reads(g, 'a');
    expect(asked.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < asked.length; i++)
      expect((asked[i] as number) - (asked[i - 1] as number)).toBeGreaterThanOrEqual(300);
    // Only b marked: nothing. Both marked: a answers again, until a little less than J after the read.
    g.input('a', { type: 'evictions', sentAt: g.now, evicted: ['b'] });
    expect(aHolds()).toBe(false);
    const sentAt = g.now;
    g.input('a', { type: 'evictions', sentAt, evicted: ['b', 'c'] });
    expect(aHolds()).toBe(true);
    const until = (g.states.get('a') as PeerState).eips.e1?.until as number;
    expect(until).toBeLessThan(sentAt + 900 / 1.01);
    expect(until).toBeGreaterThan(sentAt + 800);
    // No fresh read: the reliance ends, and a withdraws.
    g.run(sentAt + 950, (m) => m === 'a');
    expect(aHolds()).toBe(false);
  });

  it("after a member left, a holder counts itself alone on the marks only once the leaver's API right has surely ended", () => {
    const g = new Group(['a', 'b', 'c', 'd'], TJ);
    g.run(1_000);
    expect(g.holders()).toEqual(['a']);
    // d leaves the gateway; a reads it (d, cut from the API server, may not have: it could still
    // answer on its API right and the acknowledgements of b and c).
    const leftAt = g.now;
    g.input('a', { type: 'members', members: ['a', 'b', 'c'] });
    const { evictionTimeoutMs: E, fenceMarginMs: M, withdrawMs: w, maxClockRateError: rho } = TJ;
    const after = leftAt + ((E - M) / (1 - rho) + w) * (1 + rho);
    expect(g.states.get('a')?.aloneAfter).toBeCloseTo(after, 6);
    for (const k of ['b', 'c', 'd']) {
      g.cut.add(`${k}>a`);
      g.cut.add(`a>${k}`);
    }
    g.run(leftAt + 600, (m) => m === 'a');
    // b and c read marked evicted: not enough while d's right may run.
    g.input('a', { type: 'evictions', sentAt: g.now, evicted: ['b', 'c'] });
    expect(g.holding.get('a')).toBe(false);
    g.now = Math.ceil(after) + 5;
    g.input('a', { type: 'heartbeat-ack', sentAt: g.now });
    g.input('a', { type: 'evictions', sentAt: g.now, evicted: ['b', 'c'] });
    expect(g.holding.get('a')).toBe(true);
  });

  it('a holder whose list of members differs from the one read with the marks (a node joined it has not read) is not alone', () => {
    const g = new Group(['a', 'b', 'c'], TJ);
    g.run(1_000);
    for (const k of ['b', 'c']) {
      g.cut.add(`${k}>a`);
      g.cut.add(`a>${k}`);
    }
    g.run(1_600, (m) => m === 'a');
    // d joined: b and c, evicted but alive, may back it while a still counts with {a, b, c}.
    g.input('a', { type: 'evictions', sentAt: g.now, evicted: ['b', 'c'], members: ['a', 'b', 'c', 'd'] });
    expect(g.holding.get('a')).toBe(false);
    // The same list as a's: alone.
    g.input('a', { type: 'evictions', sentAt: g.now, evicted: ['b', 'c'], members: ['c', 'a', 'b'] });
    expect(g.holding.get('a')).toBe(true);
  });

  it('without rejoinDelayMs no marks are asked for and a holder without a majority stays fenced', () => {
    const g = new Group(['a', 'b', 'c']);
    g.run(1_000);
    for (const k of ['b', 'c']) {
      g.cut.add(`${k}>a`);
      g.cut.add(`a>${k}`);
    }
    g.run(1_600, (m) => m === 'a');
    g.input('a', { type: 'evictions', sentAt: g.now, evicted: ['b', 'c'] });
    expect(reads(g, 'a')).toEqual([]);
    expect(g.holding.get('a')).toBe(false);
  });

  it('after an evicted acknowledgement a node takes over only J after its next clean one', () => {
    const g = new Group(['a', 'b', 'c'], TJ);
    g.run(1_000);
    // b's renewal comes back evicted, then clean at 1 200: a take-over by b counts its API right from 2 100.
    g.input('b', { type: 'heartbeat-ack', sentAt: g.now, evicted: true });
    expect((g.states.get('b') as PeerState).takeoverApiFrom).toBe(Number.POSITIVE_INFINITY);
    g.now = 1_200;
    g.input('b', { type: 'heartbeat-ack', sentAt: 1_200 });
    expect((g.states.get('b') as PeerState).takeoverApiFrom).toBe(2_100);
    // a dies at 1 300 (silent to both): b is the successor, backed by c, but waits for its rejoin.
    g.now = 1_300;
    g.cut.add('a>b');
    g.cut.add('a>c');
    g.holding.set('a', false);
    const api = (m: string) => m !== 'a';
    g.run(2_095, api);
    expect(g.holders()).toEqual([]);
    g.run(2_200, api);
    expect(g.holders()).toEqual(['b']);
  });

  it('refuses a rejoin delay too short to rely on a read, naming the field', () => {
    expect(() => validatePeerTiming({ ...T, rejoinDelayMs: 50 })).toThrow(PeerConfigError);
    try {
      validatePeerTiming({ ...T, rejoinDelayMs: 50 });
    } catch (e) {
      expect((e as PeerConfigError).field).toBe('rejoinDelayMs');
    }
    expect(validatePeerTiming({ ...T, rejoinDelayMs: 1_000 }).maxMessageDelayMs).toBeGreaterThan(0);
  });
});
