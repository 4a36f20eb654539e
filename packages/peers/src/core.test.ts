import { describe, expect, it } from 'vitest';
import { initialPeerState, type PeerAction, type PeerInput, type PeerState, step } from './core.js';
import { DEFAULT_PEER_TIMING, PeerConfigError, validatePeerTiming } from './timing.js';

const T = DEFAULT_PEER_TIMING;

/** Three (or n) agents with perfect clocks; adverts are delivered instantly unless `cut` says otherwise. */
class Group {
  states = new Map<string, PeerState>();
  holding = new Map<string, boolean>();
  log: { at: number; node: string; action: PeerAction }[] = [];
  cut = new Set<string>(); // "from>to"
  now = 0;

  constructor(readonly members: string[]) {
    for (const m of members) {
      this.states.set(
        m,
        initialPeerState({ group: 'g', node: m, members, eips: ['e1'], epoch: 1, timing: T }, 0, {
          e1: members[0] as string,
        }),
      );
    }
  }

  input(node: string, input: PeerInput): void {
    const r = step(this.states.get(node) as PeerState, input, this.now);
    this.states.set(node, r.state);
    for (const a of r.actions) {
      this.log.push({ at: this.now, node, action: a });
      if (a.type === 'take-over') this.holding.set(node, true);
      if (a.type === 'withdraw') this.holding.set(node, false);
      if (a.type === 'send-advert') {
        for (const to of this.members) {
          if (to !== node && !this.cut.has(`${node}>${to}`))
            this.input(to, { type: 'advert', advert: a.advert });
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
