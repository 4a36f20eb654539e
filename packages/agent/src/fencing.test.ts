import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  eipLifetimeSeconds,
  fenceDeadline,
  fencingWarnings,
  killedAgentOverlapMs,
  renewLifetimeSeconds,
} from './fencing.js';

describe('fencing arithmetic', () => {
  it('defaults (E = 3 s, M = 0.5 s): fence 2.5 s after the last acknowledged send, lifetime 2 s, no overlap', () => {
    expect(fenceDeadline(10_000, { evictionTimeoutMs: 3000 })).toBe(12_500);
    expect(eipLifetimeSeconds({ evictionTimeoutMs: 3000 })).toBe(2);
    expect(renewLifetimeSeconds(10_000, 10_050, { evictionTimeoutMs: 3000 })).toBe(2);
    expect(renewLifetimeSeconds(10_000, 11_600, { evictionTimeoutMs: 3000 })).toBe(0);
    // Sub-second settings still renew (1 s is the kernel's floor) while the deadline is ahead.
    expect(renewLifetimeSeconds(10_000, 10_300, { evictionTimeoutMs: 1000, marginMs: 250 })).toBe(1);
    expect(renewLifetimeSeconds(10_000, 10_800, { evictionTimeoutMs: 1000, marginMs: 250 })).toBe(0);
    expect(killedAgentOverlapMs({ evictionTimeoutMs: 3000 })).toBe(0);
    expect(fencingWarnings({ evictionTimeoutMs: 3000, updatePeriodMs: 1000 })).toEqual([]);
  });

  it('for every setting with E >= 1 s + M + slack, the old node lets go before the controller can move (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1700, max: 120_000 }), // eviction timeout
        fc.integer({ min: 200, max: 600 }), // margin
        fc.integer({ min: 0, max: 150 }), // response latency δ (< margin - kernel slack)
        fc.integer({ min: 0, max: 10_000_000 }), // when the controller observed the last heartbeat
        fc.integer({ min: 0, max: 5000 }), // a response delayed beyond the usual latency
        (E, M, delta, observed, lateBy) => {
          fc.pre(M >= delta + 100 && E >= 1000 + M + 100);
          const sentAt = observed - delta; // sent before the controller saw it
          const ackAt = observed + delta; // acknowledged after
          const moveAt = observed + E;
          expect(fenceDeadline(sentAt, { evictionTimeoutMs: E, marginMs: M })).toBeLessThan(moveAt);
          // Renewed on the acknowledgement, however late it comes, the address expires in time.
          const late = ackAt + lateBy;
          const lifetime = renewLifetimeSeconds(sentAt, late, { evictionTimeoutMs: E, marginMs: M });
          if (lifetime > 0) expect(late + lifetime * 1000 + 100).toBeLessThanOrEqual(moveAt);
        },
      ),
    );
  });

  it('says when sub-second settings leave a window for a killed agent', () => {
    expect(killedAgentOverlapMs({ evictionTimeoutMs: 1000, marginMs: 300 })).toBe(400);
    expect(fencingWarnings({ evictionTimeoutMs: 1000, marginMs: 300, updatePeriodMs: 250 })[0]).toContain(
      'up to 400 ms',
    );
    expect(fencingWarnings({ evictionTimeoutMs: 1000, marginMs: 500, updatePeriodMs: 500 })[0]).toContain(
      'a single slow heartbeat',
    );
  });
});
