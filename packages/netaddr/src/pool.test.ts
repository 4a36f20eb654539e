import { describe, expect, it } from 'vitest';
import {
  distinctPoolSize,
  findOverlaps,
  iteratePool,
  parsePool,
  parsePoolEntry,
  poolAt,
  poolContains,
  poolIndexOf,
} from './pool.js';
import { mergeRanges, parseRange } from './range.js';

describe('parsePoolEntry', () => {
  it('reads addresses, ranges (ends trimmed) and CIDRs', () => {
    expect(parsePoolEntry('198.18.0.5')).toMatchObject({
      ok: true,
      value: { family: 4, start: 0xc6120005n, end: 0xc6120005n },
    });
    expect(parsePoolEntry(' 198.18.0.5 - 198.18.0.7 ')).toMatchObject({
      ok: true,
      value: { start: 0xc6120005n, end: 0xc6120007n, entry: ' 198.18.0.5 - 198.18.0.7 ' },
    });
    expect(parsePoolEntry('fd00::/126')).toMatchObject({
      ok: true,
      value: { family: 6, start: 0xfdn << 120n },
    });
  });

  it('rejects host bits by default and masks them on request', () => {
    expect(parsePoolEntry('10.6.1.70/28')).toEqual({
      ok: false,
      error: '"10.6.1.70/28" has host bits set: write the network address, 10.6.1.64/28',
    });
    expect(parsePoolEntry('10.6.1.70/28', { hostBits: 'mask' })).toMatchObject({
      ok: true,
      value: { start: 0x0a060140n, end: 0x0a06014fn },
    });
  });

  it('names what is wrong with a bad entry', () => {
    expect(parsePoolEntry('198.18.0.9-198.18.0.1')).toMatchObject({
      ok: false,
      error: expect.stringContaining('ends before it starts'),
    });
    expect(parsePoolEntry('198.18.0.1-fd00::1')).toMatchObject({
      ok: false,
      error: expect.stringContaining('mixes IPv4 and IPv6'),
    });
    expect(parsePoolEntry('fd00::1%eth0')).toMatchObject({
      ok: false,
      error: expect.stringContaining('zone index'),
    });
    expect(parsePoolEntry('fd00::1', { family: 4 })).toEqual({
      ok: false,
      error: '"fd00::1" is IPv6: this pool takes IPv4 entries only',
    });
    expect(parsePoolEntry('')).toMatchObject({ ok: false, error: expect.stringContaining('blank') });
    expect(parseRange('198.18.0.1 - 198.18.0.2')).toMatchObject({
      ok: false,
      error: expect.stringContaining('whitespace'),
    });
  });
});

describe('parsePool', () => {
  it('walks singles, ranges and CIDRs in entry order without expanding them', () => {
    const pool = parsePool(['198.18.0.10', '198.18.1.0-198.18.1.3', '198.19.0.0/30'], { family: 4 });
    expect(pool.size).toBe(9n);
    expect([0n, 1n, 4n, 5n, 8n, 9n, -1n].map((i) => poolAt(pool, i))).toEqual([
      '198.18.0.10',
      '198.18.1.0',
      '198.18.1.3',
      '198.19.0.0',
      '198.19.0.3',
      undefined,
      undefined,
    ]);
    expect(poolIndexOf(pool, '198.18.1.2')).toBe(3n);
    expect(poolIndexOf(pool, '198.18.1.4')).toBeUndefined();
    expect(poolIndexOf(pool, ' 198.18.1.2')).toBeUndefined();
    expect(poolContains(pool, '198.19.0.3')).toBe(true);
    expect([...iteratePool(pool)].slice(0, 3)).toEqual(['198.18.0.10', '198.18.1.0', '198.18.1.1']);
  });

  it('handles a /64 lazily', () => {
    const pool = parsePool(['fd00:1::/64'], { family: 6 });
    expect(pool.size).toBe(1n << 64n);
    expect(poolAt(pool, (1n << 64n) - 1n)).toBe('fd00:1::ffff:ffff:ffff:ffff');
    expect(poolIndexOf(pool, 'fd00:1::1:0')).toBe(0x10000n);
  });

  it('skips blank entries or reports them, and keeps the entry index of problems', () => {
    const skipped = parsePool(['', '198.18.0.1', 'x', '  ']);
    expect(skipped.segments.map((s) => s.index)).toEqual([1]);
    expect(skipped.problems.map((p) => [p.index, p.entry])).toEqual([[2, 'x']]);
    const reported = parsePool(['', '198.18.0.1'], { blankEntries: 'problem' });
    expect(reported.problems.map((p) => p.index)).toEqual([0]);
    expect(parsePool([5 as unknown as string]).problems[0]).toEqual({
      index: 0,
      entry: '5',
      message: 'a pool entry must be text, got number',
    });
  });

  it('counts duplicates as positions but once as distinct addresses', () => {
    const pool = parsePool(['198.18.0.10', '198.18.0.10', '198.18.0.8-198.18.0.11', 'fd00::1']);
    expect(pool.size).toBe(7n);
    expect(distinctPoolSize(pool)).toBe(5n);
  });

  it('finds overlapping entries once per pair, with the first shared address', () => {
    const pool = parsePool([
      '198.18.0.0/30',
      '198.18.0.2-198.18.0.9',
      '198.18.0.20',
      'fd00::/126',
      'fd00::3',
    ]);
    expect(findOverlaps(pool.segments).map((o) => [o.a.entry, o.b.entry, o.address])).toEqual([
      ['198.18.0.0/30', '198.18.0.2-198.18.0.9', '198.18.0.2'],
      ['fd00::/126', 'fd00::3', 'fd00::3'],
    ]);
  });

  it('mergeRanges joins overlapping and adjacent ranges', () => {
    expect(
      mergeRanges([
        { start: 5n, end: 9n },
        { start: 0n, end: 2n },
        { start: 3n, end: 4n },
        { start: 20n, end: 21n },
      ]),
    ).toEqual([
      { start: 0n, end: 9n },
      { start: 20n, end: 21n },
    ]);
  });
});
