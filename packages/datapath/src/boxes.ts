import type { IpRange as Range } from '@egressgateway/netaddr';

/** A source range x destination range rectangle, the key of a steering or SNAT element. */
export interface Box {
  readonly src: Range;
  readonly dst: Range;
}

/** A box with the value it maps to (a mark or an EIP). */
export interface BoxEntry<V> {
  readonly box: Box;
  readonly value: V;
}

function intersects(a: Range, b: Range): boolean {
  return a.start <= b.end && b.start <= a.end;
}

// Math.max/min take numbers only; addresses are bigints.
const maxBig = (x: bigint, y: bigint): bigint => (x > y ? x : y);
const minBig = (x: bigint, y: bigint): bigint => (x < y ? x : y);

/** `a` minus `b` as at most four disjoint boxes. */
export function subtractBox(a: Box, b: Box): Box[] {
  if (!intersects(a.src, b.src) || !intersects(a.dst, b.dst)) return [a];
  const out: Box[] = [];
  // Source slabs left and right of b keep a's full destination range.
  if (a.src.start < b.src.start) out.push({ src: { start: a.src.start, end: b.src.start - 1n }, dst: a.dst });
  if (a.src.end > b.src.end) out.push({ src: { start: b.src.end + 1n, end: a.src.end }, dst: a.dst });
  // Inside b's source span only the destination parts outside b remain.
  const mid: Range = { start: maxBig(a.src.start, b.src.start), end: minBig(a.src.end, b.src.end) };
  if (a.dst.start < b.dst.start) out.push({ src: mid, dst: { start: a.dst.start, end: b.dst.start - 1n } });
  if (a.dst.end > b.dst.end) out.push({ src: mid, dst: { start: b.dst.end + 1n, end: a.dst.end } });
  return out;
}

/**
 * Resolves overlaps between ordered entries so that the earlier entry wins, returning disjoint
 * boxes (nftables rejects overlapping elements in a concatenated interval map). A point covered
 * by several input boxes maps to the value of the first of them; points covered by none stay
 * uncovered.
 */
export function firstWins<V>(entries: readonly BoxEntry<V>[]): BoxEntry<V>[] {
  const accepted: BoxEntry<V>[] = [];
  // Accepted boxes sorted by source start, with the widest source span seen: a new box only has
  // to look at boxes starting in [src.start - maxSpan, src.end], which keeps the common case
  // (pod /32 sources) near n log n instead of n^2.
  const bySrc: BoxEntry<V>[] = [];
  let maxSpan = 0n;
  for (const entry of entries) {
    let pieces: Box[] = [entry.box];
    const hi = upperBound(bySrc, entry.box.src.end);
    const lo = entry.box.src.start - maxSpan;
    for (let i = hi - 1; i >= 0 && pieces.length > 0; i--) {
      const prev = bySrc[i] as BoxEntry<V>;
      if (prev.box.src.start < lo) break;
      if (!intersects(prev.box.src, entry.box.src) || !intersects(prev.box.dst, entry.box.dst)) continue;
      pieces = pieces.flatMap((p) => subtractBox(p, prev.box));
    }
    for (const box of pieces) {
      const e = { box, value: entry.value };
      accepted.push(e);
      bySrc.splice(upperBound(bySrc, box.src.start), 0, e);
      const span = box.src.end - box.src.start;
      if (span > maxSpan) maxSpan = span;
    }
  }
  return accepted;
}

/** Index of the first entry whose source start is greater than `x`. */
function upperBound<V>(sorted: readonly BoxEntry<V>[], x: bigint): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as BoxEntry<V>).box.src.start <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
