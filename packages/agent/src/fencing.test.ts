import type { NodeDatapathState } from '@egressgateway/datapath';
import { type Clock, silentLogger } from '@egressgateway/kube';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DatapathApplier } from './datapath-applier.js';
import { FenceKeeper } from './fence-keeper.js';
import {
  eipLeaseMs,
  eipLifetimeSeconds,
  fenceDeadline,
  fencingWarnings,
  renewLeaseMs,
  renewLifetimeSeconds,
} from './fencing.js';

describe('fencing arithmetic', () => {
  it('defaults (E = 3 s, M = 0.5 s): fence 2.5 s after the last acknowledged send; lease to that instant', () => {
    expect(fenceDeadline(10_000, { evictionTimeoutMs: 3000 })).toBe(12_500);
    expect(eipLeaseMs({ evictionTimeoutMs: 3000 })).toBe(2500);
    expect(eipLifetimeSeconds({ evictionTimeoutMs: 3000 })).toBe(2);
    expect(renewLeaseMs(10_000, 10_050, { evictionTimeoutMs: 3000 })).toBe(2450);
    expect(renewLifetimeSeconds(10_000, 10_050, { evictionTimeoutMs: 3000 })).toBe(2);
    // Less than a second left: the lease still ends at the deadline; the lifetime floor is 1 s.
    expect(renewLeaseMs(10_000, 11_600, { evictionTimeoutMs: 3000 })).toBe(900);
    expect(renewLifetimeSeconds(10_000, 11_600, { evictionTimeoutMs: 3000 })).toBe(1);
    // Past the deadline: nothing to renew.
    expect(renewLeaseMs(10_000, 12_600, { evictionTimeoutMs: 3000 })).toBe(0);
    expect(renewLifetimeSeconds(10_000, 12_600, { evictionTimeoutMs: 3000 })).toBe(0);
    expect(fencingWarnings({ evictionTimeoutMs: 3000, updatePeriodMs: 1000 })).toEqual([]);
  });

  it('sub-second settings (E = 1 s, M = 0.25 s) get a millisecond lease ending exactly at the deadline', () => {
    const s = { evictionTimeoutMs: 1000, marginMs: 250 };
    expect(eipLeaseMs(s)).toBe(750);
    expect(renewLeaseMs(10_000, 10_300, s)).toBe(450);
    expect(renewLifetimeSeconds(10_000, 10_300, s)).toBe(1);
    expect(fencingWarnings({ ...s, updatePeriodMs: 250 })).toEqual([]);
  });

  it('for every setting, the lease of a killed agent ends before the controller can move the EIP (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 300, max: 120_000 }), // eviction timeout E
        fc.integer({ min: 50, max: 2000 }), // margin M
        fc.integer({ min: 0, max: 1000 }), // response latency δ
        fc.integer({ min: 0, max: 10_000_000 }), // when the controller observed the last heartbeat
        fc.integer({ min: 0, max: 5000 }), // an acknowledgement delayed beyond δ
        fc.integer({ min: 0, max: 20 }), // lease write latency w (one nft run, a jiffy)
        (E, M, delta, observed, lateBy, w) => {
          fc.pre(M < E && w < M);
          const s = { evictionTimeoutMs: E, marginMs: M };
          const sentAt = observed - delta; // sent before the controller saw it
          const ackAt = observed + delta + lateBy; // acknowledged after, however late
          const moveAt = observed + E;
          expect(fenceDeadline(sentAt, s)).toBeLessThan(moveAt);
          const lease = renewLeaseMs(sentAt, ackAt, s);
          // The renewal written at the acknowledgement expires by the deadline (+ w), before the move.
          if (lease > 0) expect(ackAt + w + lease).toBeLessThan(moveAt);
          else expect(ackAt).toBeGreaterThanOrEqual(fenceDeadline(sentAt, s));
        },
      ),
    );
  });

  it('warns with the numbers when a slow heartbeat would fence a healthy node, or the margin is too thin', () => {
    expect(fencingWarnings({ evictionTimeoutMs: 1000, marginMs: 500, updatePeriodMs: 500 })[0]).toContain(
      'a single slow heartbeat',
    );
    expect(fencingWarnings({ evictionTimeoutMs: 1000, marginMs: 20, updatePeriodMs: 250 })).toEqual([
      "fence margin (0.02s) is below 0.05s: the lease write latency may let a killed agent's EIP speak after the controller moved it",
    ]);
  });
});

/** Virtual time: timers fire in time order as the test advances the clock. */
class TestClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  /** Moves to `at`, firing every timer due on the way (and letting promises settle after each). */
  async advanceTo(at: number): Promise<void> {
    for (;;) {
      await settle();
      const due = this.timers.filter((x) => x.at <= at).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = Math.max(this.t, at);
    await settle();
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));

/**
 * The kernel side of `DatapathBinder`, as far as leases go: an EIP bound by an apply is leased for
 * the lease passed with the call, or else for the binder's default (`eipLeaseMs`), counted from the
 * call; a renewal re-leases every held EIP; an apply whose lease is over binds nothing.
 */
class LeaseModel {
  readonly leaseEnd = new Map<string, number>();
  /** Every lease written: when, for which EIP, until when. */
  readonly written: Array<{ at: number; eip: string; until: number; by: 'bind' | 'renew' }> = [];
  constructor(
    private readonly clock: TestClock,
    private readonly defaultLeaseMs: number,
  ) {}
  async apply(desired: NodeDatapathState, options?: { leaseMs?: number }) {
    const now = this.clock.now();
    const ms = options?.leaseMs ?? this.defaultLeaseMs;
    const fresh = desired.eips.filter((e) => !this.leaseEnd.has(e));
    if (fresh.length > 0 && ms <= 0) return { ok: false };
    for (const e of [...this.leaseEnd.keys()]) if (!desired.eips.includes(e)) this.leaseEnd.delete(e);
    for (const e of fresh) {
      this.leaseEnd.set(e, now + ms);
      this.written.push({ at: now, eip: e, until: now + ms, by: 'bind' });
    }
    return { ok: true };
  }
  async renewEips(_lifetimeSeconds: number, leaseMs?: number) {
    const now = this.clock.now();
    for (const e of this.leaseEnd.keys()) {
      this.leaseEnd.set(e, now + (leaseMs ?? 0));
      this.written.push({ at: now, eip: e, until: now + (leaseMs ?? 0), by: 'renew' });
    }
  }
  async withdrawEips() {
    this.leaseEnd.clear();
  }
}

describe('fencing of a bind (agent parts with a kernel lease model, virtual time)', () => {
  it('every lease written, that of a bind included, ends by the fence deadline of the heartbeats acknowledged so far (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 300, max: 120_000 }), // eviction timeout E
        fc.integer({ min: 50, max: 2000 }), // margin M
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 3000 }), // from the previous acknowledgement to this send
            latency: fc.integer({ min: 0, max: 2000 }), // send to acknowledgement
            bindAfter: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }), // a new EIP placed here
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (E, M, beats) => {
          fc.pre(M < E);
          const s = { evictionTimeoutMs: E, marginMs: M };
          const clock = new TestClock();
          const kernel = new LeaseModel(clock, eipLeaseMs(s));
          let eips: string[] = [];
          let lastAckedSentAt: number | undefined;
          const fence: FenceKeeper<null> = new FenceKeeper<null>({
            clock,
            log: silentLogger,
            nodeName: 'n1',
            evictionTimeoutMs: E,
            fenceMarginMs: M,
            binder: kernel,
            heldEips: () => applier.heldEips,
            assignedEips: () => eips,
            stopped: () => false,
            freshRead: async () => null,
            adopt: () => undefined,
            changed: () => applier.reapply(),
          });
          const applier = new DatapathApplier({
            clock,
            log: silentLogger,
            binder: kernel,
            ready: () => true,
            desired: () => ({
              egressInterface: 'eth0',
              markRoutes: [],
              eips: fence.fenced ? [] : eips,
              steering: [],
              snat: [],
            }),
            leaseMs: () => fence.bindLeaseMs(),
          });
          /** The fence deadline that holds at `at`: that of the last heartbeat acknowledged by then. */
          const acks: Array<{ ackAt: number; deadline: number }> = [];
          const deadlineAt = (at: number) => acks.filter((a) => a.ackAt <= at).at(-1)?.deadline ?? 0;
          let t = 0;
          for (const [i, b] of beats.entries()) {
            const sentAt = t + b.gap;
            const ackAt = sentAt + b.latency;
            await clock.advanceTo(ackAt);
            lastAckedSentAt = Math.max(lastAckedSentAt ?? 0, sentAt);
            acks.push({ ackAt, deadline: fenceDeadline(lastAckedSentAt, s) });
            fence.acknowledged(sentAt, 'Ready');
            await clock.advanceTo(ackAt);
            t = ackAt;
            if (b.bindAfter !== undefined) {
              await clock.advanceTo(ackAt + b.bindAfter);
              eips = [...eips, `198.18.0.${i + 1}`];
              applier.schedule();
              await clock.advanceTo(ackAt + b.bindAfter);
              t = ackAt + b.bindAfter;
            }
          }
          // The agent is killed here: no renewal, no withdraw. Only the leases written so far count.
          for (const w of kernel.written) {
            expect(w.until - w.at).toBeGreaterThan(0);
            // Nothing outlives the deadline the agent itself would have fenced at; the controller
            // moves the EIP at O + E > S + E - M, so never two owners.
            expect(w.until).toBeLessThanOrEqual(deadlineAt(w.at));
          }
          // And a bind did happen whenever a placement came while the deadline was still ahead.
          const placedInTime = beats.some(
            (b, i) =>
              b.bindAfter !== undefined && (acks[i]?.ackAt ?? 0) + b.bindAfter < (acks[i]?.deadline ?? 0),
          );
          if (placedInTime) expect(kernel.written.some((w) => w.by === 'bind')).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
