import { describe, expect, it } from 'vitest';
import {
  type Arrival,
  duplicateWindows,
  longestArpSilence,
  longestGap,
  ownerChanges,
  ownershipGap,
  parseArpLine,
  parseArrival,
  percentile,
  sourcesBetween,
  streamConnections,
} from './analysis.js';

const EIP = '198.18.0.50';
const udp = (t: number, s = EIP): Arrival => ({ t, k: 'u4', s, p: 1000 });

describe('longestGap', () => {
  it('finds the silence around a fault, measured between arrivals', () => {
    const xs = [0, 10, 20, 30, 1530, 1540].map((t) => udp(t));
    expect(longestGap(xs, 'u4', 25)).toEqual({ from: 30, to: 1530, ms: 1500 });
  });

  it('ignores silences that ended before the fault', () => {
    const xs = [0, 500, 510, 520, 530].map((t) => udp(t));
    expect(longestGap(xs, 'u4', 505)?.ms).toBe(10);
  });

  it('counts packets from other sources as silence when a source is given', () => {
    const xs = [udp(0), udp(10), udp(20, '198.19.1.2'), udp(30, '198.19.1.2'), udp(40)];
    expect(longestGap(xs, 'u4', 5, Number.POSITIVE_INFINITY, EIP)?.ms).toBe(30);
    expect(longestGap(xs, 'u4', 5)?.ms).toBe(10);
  });

  it('reports an open silence when traffic never resumed before the end of the window', () => {
    const xs = [udp(0), udp(10)];
    expect(longestGap(xs, 'u4', 5, 2000)).toEqual({ from: 10, to: 2000, ms: 1990, open: true });
  });

  it('sorts arrivals and filters by kind', () => {
    const xs: Arrival[] = [udp(30), udp(0), { t: 15, k: 'u6', s: EIP, p: 1 }, udp(10)];
    expect(longestGap(xs, 'u4', 0)?.ms).toBe(20);
  });
});

describe('sources and streams', () => {
  it('lists distinct sources within a window', () => {
    const xs = [udp(0), udp(10, '198.19.1.2'), udp(20), udp(40, '198.19.1.3')];
    expect(sourcesBetween(xs, 'u4', 0, 30)).toEqual(['198.18.0.50', '198.19.1.2']);
  });

  it('tells a surviving TCP stream (one source port) from a reconnected one', () => {
    const xs: Arrival[] = [
      { t: 0, k: 's4', s: EIP, p: 40000 },
      { t: 10, k: 's4', s: EIP, p: 40000 },
      { t: 20, k: 's4', s: EIP, p: 40001 },
    ];
    expect(streamConnections(xs, 0, 15)).toEqual(['198.18.0.50:40000']);
    expect(streamConnections(xs, 0, 30)).toEqual(['198.18.0.50:40000', '198.18.0.50:40001']);
  });
});

describe('ARP records', () => {
  it('a round with answers from two MACs is a duplicate-owner window; announcements are not', () => {
    const recs = [
      { t: 1, kind: 'reply' as const, round: 1, mac: 'a' },
      { t: 2, kind: 'reply' as const, round: 2, mac: 'a' },
      { t: 3, kind: 'reply' as const, round: 2, mac: 'b' },
      { t: 4, kind: 'garp' as const, round: 3, mac: 'c' },
      { t: 5, kind: 'reply' as const, round: 3, mac: 'b' },
    ];
    expect(duplicateWindows(recs)).toEqual([{ round: 2, t: 2, macs: ['a', 'b'] }]);
  });

  it('tracks the owner over time, with none after a silence', () => {
    const recs = [1, 2, 3].map((r) => ({ t: r * 20, kind: 'reply' as const, round: r, mac: 'a' }));
    recs.push({ t: 400, kind: 'reply', round: 20, mac: 'b' });
    expect(ownerChanges(recs, 5)).toEqual([
      { t: 20, mac: 'a' },
      { t: 60, mac: 'none' },
      { t: 400, mac: 'b' },
    ]);
  });

  it('measures the longest ARP silence for the EIP, gratuitous ARPs not counting, open at either end', () => {
    const r = (t: number, kind: 'reply' | 'garp' = 'reply') => ({ t, kind, round: 0, mac: 'a' });
    expect(longestArpSilence([r(100), r(120), r(900, 'garp'), r(1000), r(1020)], 100, 1040)).toEqual({
      from: 120,
      to: 1000,
      ms: 880,
    });
    expect(longestArpSilence([r(100), r(120)], 100, 2000)).toEqual({
      from: 120,
      to: 2000,
      ms: 1880,
      open: true,
    });
    expect(longestArpSilence([r(50), r(1500)], 100, 1600)).toEqual({
      from: 100,
      to: 1500,
      ms: 1400,
      open: false,
    });
    expect(longestArpSilence([], 100, 300)).toEqual({ from: 100, to: 300, ms: 200, open: true });
  });

  it('measures the ownership handover: last answer of the old owner to first of the new one', () => {
    const recs = [
      { t: 100, kind: 'reply' as const, round: 5, mac: 'a' },
      { t: 900, kind: 'reply' as const, round: 45, mac: 'a' },
      { t: 1900, kind: 'reply' as const, round: 95, mac: 'b' },
    ];
    expect(ownershipGap(recs, 500)).toEqual({
      lastOld: 900,
      firstNew: 1900,
      ms: 1000,
      oldMac: 'a',
      newMac: 'b',
    });
    // Overlap: the old owner still answers after the new one started.
    const overlap = [...recs, { t: 1950, kind: 'reply' as const, round: 97, mac: 'a' }];
    expect(ownershipGap(overlap, 500)?.ms).toBe(-50);
    expect(ownershipGap(recs.slice(0, 2), 500)).toBeUndefined();
  });

  it('parses watcher lines and rejects others', () => {
    expect(parseArpLine('reply 12 02:00:00:00:00:0b', 5)).toEqual({
      t: 5,
      kind: 'reply',
      round: 12,
      mac: '02:00:00:00:00:0b',
    });
    expect(parseArpLine('ready', 5)).toBeUndefined();
  });
});

describe('parseArrival and percentile', () => {
  it('keeps probe records and drops the rest', () => {
    expect(parseArrival('{"t":1.5,"k":"u4","s":"198.18.0.50","p":9,"q":3}')).toEqual({
      t: 1.5,
      k: 'u4',
      s: EIP,
      p: 9,
      q: 3,
    });
    expect(parseArrival('{"t":1,"k":"ready"}')).toBeUndefined();
    expect(parseArrival('not json')).toBeUndefined();
  });

  it('computes nearest-rank percentiles', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50)).toBe(3);
    expect(percentile(xs, 99)).toBe(5);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([], 50)).toBeUndefined();
  });
});
