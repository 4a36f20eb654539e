import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Arrival, duplicateWindows, longestGap } from './analysis.js';

const times = fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { minLength: 2, maxLength: 60 });

describe('analysis properties', () => {
  it('longestGap is at least every silence that ends after the fault, and is one of them', () => {
    fc.assert(
      fc.property(times, fc.integer({ min: 0, max: 100_000 }), (ts, since) => {
        const xs: Arrival[] = ts.map((t) => ({ t, k: 'u4', s: 'x', p: 1 }));
        const sorted = [...ts].sort((a, b) => a - b);
        const gaps: number[] = [];
        for (let i = 1; i < sorted.length; i++)
          if ((sorted[i] as number) > since) gaps.push((sorted[i] as number) - (sorted[i - 1] as number));
        const g = longestGap(xs, 'u4', since);
        if (gaps.length === 0) expect(g).toBeUndefined();
        else {
          expect(g?.ms).toBe(Math.max(...gaps));
          expect(g && g.to > since).toBe(true);
        }
      }),
    );
  });

  it('duplicateWindows reports exactly the rounds answered by more than one MAC', () => {
    const rec = fc.record({
      round: fc.integer({ min: 1, max: 20 }),
      mac: fc.constantFrom('a', 'b', 'c'),
      kind: fc.constantFrom('reply' as const, 'garp' as const, 'na' as const),
      t: fc.integer({ min: 0, max: 1000 }),
    });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 80 }), (recs) => {
        const dups = new Set(duplicateWindows(recs).map((d) => d.round));
        for (let round = 1; round <= 20; round++) {
          const macs = new Set(recs.filter((r) => r.round === round && r.kind === 'reply').map((r) => r.mac));
          expect(dups.has(round)).toBe(macs.size > 1);
        }
      }),
    );
  });
});
