import { formatIp, type IpFamily, parseIp } from './address.js';
import { err, ok, type Result } from './result.js';

/** An inclusive range of address values of one family (the family is the caller's context). */
export interface IpRange {
  readonly start: bigint;
  readonly end: bigint;
}

/** A range with its family, as {@link parseRange} returns it. */
export interface FamilyRange {
  readonly family: IpFamily;
  readonly range: IpRange;
}

/** Number of addresses in a range (`end - start + 1`). */
export function rangeSize(range: IpRange): bigint {
  return range.end - range.start + 1n;
}

/** True when `value` lies in the range. */
export function rangeContains(range: IpRange, value: bigint): boolean {
  return range.start <= value && value <= range.end;
}

/**
 * Parses `first-last` (inclusive, one family, `first <= last`); no whitespace anywhere (upstream
 * refuses `a - b` too, see {@link parsePoolEntry}).
 *
 * @example
 * ```ts
 * parseRange('198.18.0.10-198.18.0.20'); // { ok: true, value: { family: 4, range: { start: 0xc612000an, end: 0xc6120014n } } }
 * ```
 */
export function parseRange(text: string): Result<FamilyRange> {
  if (typeof text !== 'string') return err(`expected a range as text, got ${typeof text}`);
  const dash = text.indexOf('-');
  const hint = 'write it as <first>-<last>, e.g. 198.18.0.10-198.18.0.20';
  if (dash < 0) return err(`${JSON.stringify(text)} is not a range: ${hint}`);
  const a = parseIp(text.slice(0, dash));
  const b = parseIp(text.slice(dash + 1));
  if (!a.ok) return err(`${JSON.stringify(text)} is not a valid range: its first address: ${a.error}`);
  if (!b.ok) return err(`${JSON.stringify(text)} is not a valid range: its last address: ${b.error}`);
  if (a.value.family !== b.value.family) {
    return err(`${JSON.stringify(text)} mixes IPv4 and IPv6: both ends of a range must be one family`);
  }
  if (a.value.value > b.value.value) {
    return err(`${JSON.stringify(text)} ends before it starts: put the lower address first`);
  }
  return ok({ family: a.value.family, range: { start: a.value.value, end: b.value.value } });
}

/** Sorts and merges overlapping or adjacent ranges into the minimal equivalent list. */
export function mergeRanges(ranges: readonly IpRange[]): IpRange[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: IpRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1n) {
      if (r.end > last.end) out[out.length - 1] = { start: last.start, end: r.end };
    } else {
      out.push({ start: r.start, end: r.end });
    }
  }
  return out;
}

/** `first-last` text of a range (`first` alone for a single address), as nft and pools write it. */
export function formatRange(family: IpFamily, range: IpRange): string {
  const a = formatIp(family, range.start);
  return range.start === range.end ? a : `${a}-${formatIp(family, range.end)}`;
}
