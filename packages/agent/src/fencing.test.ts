import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
