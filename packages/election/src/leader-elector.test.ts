import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ElectionError,
  InvalidOptionsError,
  LeadershipLostError,
  LockTimeoutError,
  LockUnavailableError,
  type TermEndReason,
} from './errors.js';
import { LeaderElector, type LeaderElectorOptions, type TermSignal } from './leader-elector.js';
import type { LeaseRecord, Lock, LockState } from './lock.js';
import type { Logger } from './logger.js';
import { ManualClock } from './manual-clock.js';
import { MemoryLock } from './memory-lock.js';

/** Why a term signal aborted: its `reason` is typed as the LeadershipLostError, no cast needed. */
function reasonOf(signal: TermSignal | undefined): TermEndReason | undefined {
  expectTypeOf(signal?.reason).toEqualTypeOf<LeadershipLostError | undefined>();
  return signal?.reason?.reason;
}

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function setup(overrides: Partial<LeaderElectorOptions> = {}, lockOptions: { latencyMs?: number } = {}) {
  const clock = new ManualClock(1_000_000);
  const lock = new MemoryLock({ clock, ...lockOptions });
  const make = (identity: string, extra: Partial<LeaderElectorOptions> = {}) => {
    const events: string[] = [];
    const signals: AbortSignal[] = [];
    const elector = new LeaderElector({
      ...timing,
      lock,
      clock,
      identity,
      random: () => 0,
      onStartedLeading: (signal) => {
        signals.push(signal);
        events.push('started');
      },
      onStoppedLeading: (reason) => {
        events.push(`stopped:${reason}`);
      },
      onNewLeader: (id) => events.push(`leader:${id}`),
      ...overrides,
      ...extra,
    });
    return { elector, events, signals };
  };
  return { clock, lock, make };
}

/** A lock whose writes can be made to fail or hang, wrapping a MemoryLock. */
class FlakyLock implements Lock {
  failWrites = false;
  hangWrites = false;
  writes = 0;
  constructor(readonly inner: MemoryLock) {}
  describe(): string {
    return 'flaky';
  }
  get(signal: AbortSignal): Promise<LockState | undefined> {
    return this.inner.get(signal);
  }
  create(record: LeaseRecord, signal: AbortSignal): Promise<LockState> {
    return this.#write(() => this.inner.create(record, signal));
  }
  update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<LockState> {
    return this.#write(() => this.inner.update(record, version, signal));
  }
  #write(fn: () => Promise<LockState>): Promise<LockState> {
    this.writes++;
    if (this.hangWrites) return new Promise(() => {});
    if (this.failWrites) return Promise.reject(new LockUnavailableError('injected 503', 503));
    return fn();
  }
}

describe('LeaderElector', () => {
  it('creates the missing lease and leads at once; the term signal is live and onNewLeader reports itself', async () => {
    const { clock, lock, make } = setup();
    const a = make('a');
    expect(a.elector.isLeader()).toBe(false);
    a.elector.start();
    await clock.advance(0);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(['leader:a', 'started']);
    expect(a.signals[0]?.aborted).toBe(false);
    expect(a.elector.termSignal()).toBe(a.signals[0]);
    expect(a.elector.leader()).toBe('a');
    expect(lock.peek()?.record).toMatchObject({
      holderIdentity: 'a',
      leaseDurationMs: 15_000,
      leaseTransitions: 0,
    });
    expect(lock.peek()?.record.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('renews every retryPeriod while leading', async () => {
    const { clock, lock, make } = setup();
    const a = make('a');
    a.elector.start();
    await clock.advance(0);
    const v0 = Number(lock.peek()?.version);
    await clock.advance(2_000 * 5);
    expect(Number(lock.peek()?.version) - v0).toBe(5);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events.filter((e) => e === 'started')).toHaveLength(1);
  });

  it('a candidate takes a dead leader’s lease exactly leaseDuration after it last saw the record change', async () => {
    const { clock, lock, make } = setup();
    const flaky = new FlakyLock(lock);
    const a = make('a', { lock: flaky });
    const b = make('b');
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(3_000);
    // a renewed at +2000 (b heard it through the watch at that instant), then goes silent.
    const lastChange = clock.now() - 1_000;
    flaky.hangWrites = true;
    await clock.advanceTo(lastChange + 15_000 - 1);
    expect(b.elector.isLeader()).toBe(false);
    expect(a.elector.isLeader()).toBe(false); // its renew deadline passed at lastChange + 10 s
    expect(a.events).toContain('stopped:renew-deadline');
    expect(b.events).toEqual(['leader:a']);
    await clock.advanceTo(lastChange + 15_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(lock.peek()?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('ignores the holder’s timestamps: a lease renewed “long ago” by another clock is still waited out in full', async () => {
    const { clock, lock, make } = setup();
    lock.forceWrite({
      holderIdentity: 'other',
      leaseDurationMs: 15_000,
      acquireTime: '1999-01-01T00:00:00.000000Z',
      renewTime: '1999-01-01T00:00:00.000000Z',
      leaseTransitions: 3,
    });
    const b = make('b');
    b.elector.start();
    await clock.advance(14_999);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(1);
    expect(b.elector.isLeader()).toBe(true);
    expect(lock.peek()?.record.leaseTransitions).toBe(4);
  });

  it('respects the lease duration written in the record, not its own', async () => {
    const { clock, lock, make } = setup();
    lock.forceWrite({
      holderIdentity: 'other',
      leaseDurationMs: 40_000,
      acquireTime: '',
      renewTime: '',
      leaseTransitions: 0,
    });
    const b = make('b');
    b.elector.start();
    await clock.advance(39_999);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(1);
    expect(b.elector.isLeader()).toBe(true);
  });

  it('steps down exactly renewDeadline after the send time of its last successful renewal', async () => {
    const clock = new ManualClock(0);
    const flaky = new FlakyLock(new MemoryLock({ clock }));
    const stopped: TermEndReason[] = [];
    let signal: AbortSignal | undefined;
    const a = new LeaderElector({
      ...timing,
      lock: flaky,
      clock,
      identity: 'a',
      onStartedLeading: (s) => {
        signal = s;
      },
      onStoppedLeading: (r) => {
        stopped.push(r);
      },
    });
    a.start();
    await clock.advance(4_000); // renewals at 0, 2000, 4000 succeed
    flaky.failWrites = true;
    await clock.advanceTo(14_000 - 1);
    expect(a.isLeader()).toBe(true);
    expect(signal?.aborted).toBe(false);
    await clock.advanceTo(14_000);
    expect(a.isLeader()).toBe(false);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(LeadershipLostError);
    expect(reasonOf(signal)).toBe('renew-deadline');
    expect(stopped).toEqual(['renew-deadline']);
    // The lock recovers and nobody else took the lease: a new term starts on the next attempt.
    flaky.failWrites = false;
    await clock.advance(2_400);
    expect(a.isLeader()).toBe(true);
  });

  it('bounds a hanging lock call by requestTimeoutMs and keeps campaigning', async () => {
    const clock = new ManualClock(0);
    const flaky = new FlakyLock(new MemoryLock({ clock }));
    flaky.hangWrites = true;
    const warnings: unknown[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (fields, msg) => warnings.push({ ...fields, msg }),
    };
    const lockErrors: string[] = [];
    const a = new LeaderElector({
      ...timing,
      requestTimeoutMs: 500,
      lock: flaky,
      clock,
      identity: 'a',
      logger,
      metrics: { lockError: (op, code) => lockErrors.push(`${op}:${code}`) },
      onStartedLeading: () => {},
    });
    a.start();
    await clock.advance(499);
    expect(warnings).toHaveLength(0);
    await clock.advance(1);
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'lease attempt failed',
        err: expect.objectContaining({ code: new LockTimeoutError('x').code }),
      }),
    ]);
    expect(lockErrors).toEqual(['create:ERR_ELECTION_LOCK_TIMEOUT']);
    flaky.hangWrites = false;
    await clock.advance(2_400);
    expect(a.isLeader()).toBe(true);
    expect(flaky.writes).toBe(2);
  });

  it('aborts the term at once when the watch shows another holder (lease taken)', async () => {
    const { clock, lock, make } = setup();
    const a = make('a');
    a.elector.start();
    await clock.advance(1_000);
    lock.forceWrite({
      holderIdentity: 'intruder',
      leaseDurationMs: 15_000,
      acquireTime: '',
      renewTime: '',
      leaseTransitions: 9,
    });
    await clock.advance(0);
    expect(a.elector.isLeader()).toBe(false);
    expect(reasonOf(a.signals[0])).toBe('lease-lost');
    expect(a.events).toEqual(['leader:a', 'started', 'leader:intruder', 'stopped:lease-lost']);
  });

  it('aborts the term when the lease is deleted, then re-creates it', async () => {
    const { clock, lock, make } = setup();
    const a = make('a');
    a.elector.start();
    await clock.advance(1_000);
    lock.forceDelete();
    await clock.advance(0);
    expect(a.events).toContain('stopped:lease-lost');
    expect(lock.peek()?.record.holderIdentity).toBe('a');
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events.filter((e) => e === 'started')).toHaveLength(2);
  });

  it('stop() aborts the term, awaits onStoppedLeading, then releases; a watching candidate takes over within the lock latency', async () => {
    const { clock, lock, make } = setup({}, { latencyMs: 5 });
    const order: string[] = [];
    const a = make('a', {
      onStoppedLeading: async (reason) => {
        order.push(`onStopped:${reason}:holder=${lock.peek()?.record.holderIdentity}`);
        await clock.advance(0);
      },
    });
    const b = make('b');
    a.elector.start();
    await clock.advance(100);
    b.elector.start();
    await clock.advance(3_000);
    expect(a.elector.isLeader()).toBe(true);
    const stopAt = clock.now();
    const stopping = a.elector.stop();
    await clock.advance(0);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(reasonOf(a.signals[0])).toBe('stopped');
    await clock.advance(20);
    await stopping;
    expect(order).toEqual(['onStopped:stopped:holder=a']);
    expect(b.elector.isLeader()).toBe(true);
    // release (5 ms) + watch (same instant) + acquire (5 ms): no waiting for leaseDuration.
    expect(b.elector.termSignal()).toBeDefined();
    expect(clock.now() - stopAt).toBeLessThan(100);
    expect(lock.peek()?.record.holderIdentity).toBe('b');
    expect(a.elector.isLeader()).toBe(false);
  });

  it('with releaseOnStop: false the lease stays with the stopped holder until it expires', async () => {
    const { clock, lock, make } = setup();
    const a = make('a', { releaseOnStop: false });
    a.elector.start();
    await clock.advance(0);
    await a.elector.stop();
    expect(lock.peek()?.record.holderIdentity).toBe('a');
    expect(a.events).toEqual(['leader:a', 'started', 'stopped:stopped']);
  });

  it('takes a released lease at the next retry tick when the lock cannot watch', async () => {
    const clock = new ManualClock(0);
    const memory = new MemoryLock({ clock });
    const noWatch: Lock = {
      describe: () => 'no-watch',
      get: (s) => memory.get(s),
      create: (r, s) => memory.create(r, s),
      update: (r, v, s) => memory.update(r, v, s),
    };
    const mk = (identity: string) =>
      new LeaderElector({
        ...timing,
        lock: noWatch,
        clock,
        identity,
        random: () => 0,
        onStartedLeading: () => {},
      });
    const a = mk('a');
    const b = mk('b');
    a.start();
    await clock.advance(10);
    b.start();
    await clock.advance(1_000);
    await a.stop();
    expect(memory.peek()?.record.holderIdentity).toBe('');
    expect(b.isLeader()).toBe(false);
    await clock.advance(2_000);
    expect(b.isLeader()).toBe(true);
  });

  it('logs and survives callbacks that throw or reject', async () => {
    const errors: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (_f, msg) => errors.push(msg) };
    const { clock, make } = setup({ logger });
    const a = make('a', {
      onStartedLeading: () => {
        throw new Error('boom');
      },
      onStoppedLeading: () => Promise.reject(new Error('bang')),
    });
    a.elector.start();
    await clock.advance(0);
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.stop();
    expect(errors).toEqual(['onStartedLeading failed', 'onStoppedLeading failed']);
  });

  it('reports transitions, renew latency and term duration to the metrics hooks', async () => {
    const transitions: Array<{ leading: boolean; reason: string }> = [];
    const latencies: number[] = [];
    const durations: number[] = [];
    const { clock, make } = setup(
      {
        metrics: {
          transition: (e) => transitions.push({ leading: e.leading, reason: e.reason }),
          renewLatency: (ms) => latencies.push(ms),
          termDuration: (ms) => durations.push(ms),
        },
      },
      { latencyMs: 3 },
    );
    const a = make('a');
    a.elector.start();
    await clock.advance(4_010);
    await Promise.all([a.elector.stop(), clock.advance(100)]);
    expect(transitions).toEqual([
      { leading: true, reason: 'acquired' },
      { leading: false, reason: 'stopped' },
    ]);
    expect(latencies).toEqual([3, 3, 3]);
    expect(durations).toHaveLength(1);
    expect(durations[0]).toBeGreaterThanOrEqual(4_000);
  });

  it('a renewal that succeeds only after the deadline does not extend the term', async () => {
    const clock = new ManualClock(0);
    const memory = new MemoryLock({ clock });
    let slow = false;
    const lock: Lock = {
      describe: () => 'slow',
      get: (s) => memory.get(s),
      create: (r, s) => memory.create(r, s),
      // Ignores the abort signal on purpose: the elector must not trust locks to honour it.
      update: async (r, v, _signal) => {
        if (slow) await new Promise<void>((resolve) => clock.setTimeout(resolve, 11_000));
        return memory.update(r, v, new AbortController().signal);
      },
    };
    const a = new LeaderElector({
      ...timing,
      requestTimeoutMs: 10_000,
      lock,
      clock,
      identity: 'a',
      onStartedLeading: () => {},
    });
    a.start();
    await clock.advance(0);
    slow = true;
    await clock.advance(12_000);
    expect(a.isLeader()).toBe(false);
  });

  it('rejects a second start() and empty identities', () => {
    const { make } = setup();
    const a = make('a');
    a.elector.start();
    expect(() => a.elector.start()).toThrow(ElectionError);
    expect(() => make('')).toThrow(InvalidOptionsError);
    expect(() => make('x', { onStartedLeading: undefined as unknown as () => void })).toThrow(
      /onStartedLeading/,
    );
    expect(() => make('x', { renewDeadlineMs: 20_000 })).toThrow(/leaseDurationMs/);
    expect(() => make('x', { lock: {} as never })).toThrow(/^lock: /);
    const stopped = make('s');
    void stopped.elector.stop();
    expect(() => stopped.elector.start()).toThrow(/single-use/);
  });
});
