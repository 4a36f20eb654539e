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
  it('reads addresses, ranges and CIDRs', () => {
    expect(parsePoolEntry('198.18.0.5')).toMatchObject({
      ok: true,
      value: { family: 4, start: 0xc6120005n, end: 0xc6120005n },
    });
    expect(parsePoolEntry('198.18.0.5-198.18.0.7')).toMatchObject({
      ok: true,
      value: { start: 0xc6120005n, end: 0xc6120007n, entry: '198.18.0.5-198.18.0.7', excluded: [] },
    });
    expect(parsePoolEntry('fd00::/126')).toMatchObject({
      ok: true,
      value: { family: 6, start: 0xfdn << 120n },
    });
  });

  // Issue 19: host bits were refused before (our stricter reading); upstream masks them, and its
  // own reference example 10.6.1.70/28 must load. 10.6.1.64/28 without network and broadcast.
  it('masks host bits and leaves out the IPv4 network and broadcast addresses', () => {
    expect(parsePoolEntry('10.6.1.70/28')).toMatchObject({
      ok: true,
      value: {
        start: 0x0a060141n,
        end: 0x0a06014en,
        excluded: [
          { value: 0x0a060140n, role: 'network' },
          { value: 0x0a06014fn, role: 'broadcast' },
        ],
      },
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
    expect(parsePoolEntry(' 198.18.0.5 - 198.18.0.7 ')).toEqual({
      ok: false,
      error:
        '" 198.18.0.5 - 198.18.0.7 " contains whitespace: write it without spaces, "198.18.0.5-198.18.0.7"',
    });
    expect(parseRange('198.18.0.1 - 198.18.0.2')).toMatchObject({
      ok: false,
      error: expect.stringContaining('whitespace'),
    });
  });
});

describe('parsePool', () => {
  it('walks singles, ranges and CIDRs in entry order without expanding them', () => {
    const pool = parsePool(['198.18.0.10', '198.18.1.0-198.18.1.3', '198.19.0.0/29'], { family: 4 });
    expect(pool.size).toBe(11n);
    expect([0n, 1n, 4n, 5n, 10n, 11n, -1n].map((i) => poolAt(pool, i))).toEqual([
      '198.18.0.10',
      '198.18.1.0',
      '198.18.1.3',
      '198.19.0.1',
      '198.19.0.6',
      undefined,
      undefined,
    ]);
    expect(poolIndexOf(pool, '198.18.1.2')).toBe(3n);
    expect(poolIndexOf(pool, '198.18.1.4')).toBeUndefined();
    expect(poolIndexOf(pool, ' 198.18.1.2')).toBeUndefined();
    expect(poolContains(pool, '198.19.0.6')).toBe(true);
    expect(poolContains(pool, '198.19.0.7')).toBe(false);
    expect([...iteratePool(pool)].slice(0, 3)).toEqual(['198.18.0.10', '198.18.1.0', '198.18.1.1']);
  });

  it('handles a /64 lazily', () => {
    const pool = parsePool(['fd00:1::/64'], { family: 6 });
    expect(pool.size).toBe(1n << 64n);
    expect(poolAt(pool, (1n << 64n) - 1n)).toBe('fd00:1::ffff:ffff:ffff:ffff');
    expect(poolIndexOf(pool, 'fd00:1::1:0')).toBe(0x10000n);
  });

  // Issue 19: blank entries were skipped before; upstream refuses them, so they are problems now.
  it('reports blank entries like any bad entry, keeping the entry index of problems', () => {
    const pool = parsePool(['', '198.18.0.1', 'x', '  ']);
    expect(pool.segments.map((s) => s.index)).toEqual([1]);
    expect(pool.problems.map((p) => [p.index, p.entry])).toEqual([
      [0, ''],
      [2, 'x'],
      [3, '  '],
    ]);
    expect(parsePool([5 as unknown as string]).problems[0]).toEqual({
      index: 0,
      entry: '5',
      message: 'a pool entry must be text, got number',
    });
  });

  // Issue 19: duplicates used to count as extra positions; upstream's pool is a set.
  it('merges duplicates and overlaps: each address once, at its first position', () => {
    const pool = parsePool(['198.18.0.10', '198.18.0.10', '198.18.0.8-198.18.0.11', 'fd00::1']);
    expect(pool.size).toBe(5n);
    expect(distinctPoolSize(pool)).toBe(5n);
    expect([...iteratePool(pool)]).toEqual([
      '198.18.0.10',
      '198.18.0.8',
      '198.18.0.9',
      '198.18.0.11',
      'fd00::1',
    ]);
    expect(pool.segments.map((s) => [s.index, s.start, s.end])).toEqual([
      [0, 0xc612000an, 0xc612000an],
      [2, 0xc6120008n, 0xc6120009n],
      [2, 0xc612000bn, 0xc612000bn],
      [3, (0xfdn << 120n) | 1n, (0xfdn << 120n) | 1n],
    ]);
  });

  it('finds overlapping segments once per pair, with the first shared address (across pools)', () => {
    const a = parsePool(['198.18.0.0/29', '198.18.0.20', 'fd00::/126']);
    const b = parsePool(['198.18.0.6-198.18.0.9', 'fd00::3']);
    expect(
      findOverlaps([...a.segments, ...b.segments]).map((o) => [o.a.entry, o.b.entry, o.address]),
    ).toEqual([
      ['198.18.0.0/29', '198.18.0.6-198.18.0.9', '198.18.0.6'],
      ['fd00::/126', 'fd00::3', 'fd00::3'],
    ]);
    // A pool's own segments never overlap: its entries merged.
    expect(findOverlaps(parsePool(['198.18.0.0/30', '198.18.0.2-198.18.0.9']).segments)).toEqual([]);
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
