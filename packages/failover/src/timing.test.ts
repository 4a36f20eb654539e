import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMING, SEED_TIMING, validateTiming } from './timing.js';

describe('validateTiming', () => {
  it("warns about the seed's 5/5/5 (false evictions likely)", () => {
    const codes = validateTiming(SEED_TIMING).map((w) => w.code);
    expect(codes).toContain('EvictionNotAboveUpdate');
    expect(codes).toContain('SingleLostHeartbeatEvicts');
    expect(validateTiming(SEED_TIMING, { mode: 'poll' }).map((w) => w.code)).toContain(
      'EvictionNotAboveMonitorPlusUpdate',
    );
  });

  it('accepts the product defaults 1/3/5 in deadline mode', () => {
    expect(DEFAULT_TIMING).toEqual({ tunnelUpdatePeriod: 1, eipEvictionTimeout: 3, tunnelMonitorPeriod: 5 });
    expect(validateTiming(DEFAULT_TIMING)).toEqual([]);
  });

  it('accepts upstream 5/15/5 (update/eviction/monitor) in poll mode but flags 5/10/5', () => {
    expect(
      validateTiming(
        { tunnelUpdatePeriod: 5, eipEvictionTimeout: 15, tunnelMonitorPeriod: 5 },
        { mode: 'poll' },
      ),
    ).toEqual([]);
    expect(
      validateTiming(
        { tunnelUpdatePeriod: 5, eipEvictionTimeout: 10, tunnelMonitorPeriod: 5 },
        { mode: 'poll' },
      ).map((w) => w.code),
    ).toEqual(['SingleLostHeartbeatEvicts', 'EvictionNotAboveMonitorPlusUpdate']);
  });

  it('reports non-positive or non-numeric values as errors with the field', () => {
    const w = validateTiming({
      tunnelUpdatePeriod: 0,
      eipEvictionTimeout: Number.NaN,
      tunnelMonitorPeriod: 5,
    });
    expect(w.map((x) => [x.code, x.severity, x.field])).toEqual([
      ['InvalidValue', 'error', 'tunnelUpdatePeriod'],
      ['InvalidValue', 'error', 'eipEvictionTimeout'],
    ]);
  });
});
