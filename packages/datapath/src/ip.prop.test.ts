import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrToRange, formatAddress, mergeRanges, normalizeAddress, parseAddress, type Range } from './ip.js';

const v6value = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const v4value = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });

describe('ip helpers', () => {
  it('format then parse returns the same number (IPv4 and IPv6)', () => {
    fc.assert(
      fc.property(v4value, (v) => {
        expect(parseAddress(formatAddress(4, v)).value).toBe(v);
      }),
    );
    fc.assert(
      fc.property(v6value, (v) => {
        expect(parseAddress(formatAddress(6, v)).value).toBe(v);
      }),
    );
  });

  it('formatted IPv6 is valid and equals the URL parser canonical form (RFC 5952)', () => {
    fc.assert(
      fc.property(v6value, (v) => {
        const text = formatAddress(6, v);
        expect(isIPv6(text)).toBe(true);
        expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
      }),
    );
  });

  it('normalises equivalent spellings', () => {
    expect(normalizeAddress('FD00:0018:0000::0050')).toBe('fd00:18::50');
    expect(normalizeAddress('::ffff:198.18.0.1')).toBe('::ffff:c612:1');
    expect(normalizeAddress('198.18.0.1')).toBe('198.18.0.1');
  });

  it('CIDR ranges clear host bits and reject bad prefixes', () => {
    expect(cidrToRange('198.19.1.7/24').range).toEqual({ start: 0xc6130100n, end: 0xc61301ffn });
    expect(cidrToRange('fd00::1').range.start).toBe(cidrToRange('fd00::1').range.end);
    expect(() => cidrToRange('198.18.0.0/33')).toThrow(TypeError);
    expect(() => cidrToRange('198.18.0.0/x')).toThrow(TypeError);
  });

  it('mergeRanges covers exactly the union, sorted, disjoint and non-adjacent', () => {
    const range = fc
      .tuple(fc.bigInt({ min: 0n, max: 200n }), fc.bigInt({ min: 0n, max: 20n }))
      .map(([s, l]): Range => ({ start: s, end: s + l }));
    fc.assert(
      fc.property(fc.array(range, { maxLength: 12 }), (ranges) => {
        const merged = mergeRanges(ranges);
        for (let i = 1; i < merged.length; i++) {
          expect((merged[i] as Range).start > (merged[i - 1] as Range).end + 1n).toBe(true);
        }
        for (let p = 0n; p <= 221n; p++) {
          const inInput = ranges.some((r) => r.start <= p && p <= r.end);
          const inMerged = merged.some((r) => r.start <= p && p <= r.end);
          expect(inMerged).toBe(inInput);
        }
      }),
    );
  });
});
