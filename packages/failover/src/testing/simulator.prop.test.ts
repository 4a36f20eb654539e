import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbFault, arbSimulationSettings } from './arbitraries.js';
import { simulateFailover } from './simulator.js';

describe('simulateFailover properties', () => {
  it('deadline mode, sound settings: a crash fails over within eviction + 2 write latencies + bind time, with any clock skew', () => {
    fc.assert(
      fc.property(arbSimulationSettings(), fc.integer({ min: 0, max: 10_000 }), (settings, skew) => {
        // Only sound settings: with eviction <= 2 x update healthy nodes flap, and no bound holds.
        fc.pre(settings.eipEvictionTimeout > 2 * settings.tunnelUpdatePeriod + 0.5);
        const s = {
          ...settings,
          mode: 'deadline' as const,
          clockSkewMs: skew,
          writeLatencyMs: [5, 50] as const,
          bindLatencyMs: 20,
        };
        const eviction = s.eipEvictionTimeout * 1000;
        const atMs = 4 * (eviction + s.tunnelUpdatePeriod * 1000 * 2);
        const r = simulateFailover(s, {
          durationMs: atMs + 3 * eviction + 10_000,
          faults: [{ atMs, kind: 'crash' }],
        });
        const f = r.faults[0];
        fc.pre(f !== undefined && f.eips > 0);
        expect(r.falseEvictions).toEqual([]);
        expect(f.failoverMs).not.toBeNull();
        expect(f.failoverMs as number).toBeLessThanOrEqual(eviction + 1 + 50 + 50 + 20);
        expect(f.duplicateOwnerMs).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('fencing: with leases counted from heartbeat send time, no two nodes ever hold one EIP, for any fault and any settings', () => {
    fc.assert(
      fc.property(
        arbSimulationSettings(),
        arbFault(20_000, 40_000),
        fc.integer({ min: 500, max: 30_000 }),
        (settings, fault, healAfter) => {
          const r = simulateFailover(
            { ...settings, mode: 'deadline', fencing: true },
            { durationMs: 90_000, faults: [{ ...fault, durationMs: healAfter }] },
          );
          expect(r.faults[0]?.duplicateOwnerMs).toBe(0);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('poll mode compares agent timestamps: a slow agent clock causes false evictions that deadline mode does not have', () => {
    const scenario = { durationMs: 60_000, faults: [] };
    let pollFalse = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const base = {
        tunnelUpdatePeriod: 1,
        tunnelMonitorPeriod: 1,
        eipEvictionTimeout: 3,
        clockSkewMs: 10_000,
        seed,
      };
      pollFalse += simulateFailover({ ...base, mode: 'poll' }, scenario).falseEvictions.length;
      expect(simulateFailover({ ...base, mode: 'deadline' }, scenario).falseEvictions).toEqual([]);
    }
    expect(pollFalse).toBeGreaterThan(0);
  });
});
