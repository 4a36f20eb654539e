import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Box, type BoxEntry, firstWins } from './boxes.js';

const span = fc
  .tuple(fc.bigInt({ min: 0n, max: 30n }), fc.bigInt({ min: 0n, max: 12n }))
  .map(([s, l]) => ({ start: s, end: s + l }));
const entry = fc.record({ box: fc.record({ src: span, dst: span }), value: fc.integer({ min: 1, max: 5 }) });
const contains = (b: Box, x: bigint, y: bigint): boolean =>
  b.src.start <= x && x <= b.src.end && b.dst.start <= y && y <= b.dst.end;

describe('firstWins', () => {
  it('every point maps to the value of the first input box containing it, and the output boxes are disjoint', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries: BoxEntry<number>[]) => {
        const out = firstWins(entries);
        for (let x = 0n; x <= 43n; x++) {
          for (let y = 0n; y <= 43n; y++) {
            const expected = entries.find((e) => contains(e.box, x, y))?.value;
            const hits = out.filter((e) => contains(e.box, x, y));
            expect(hits.length).toBeLessThanOrEqual(1);
            expect(hits[0]?.value).toBe(expected);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
