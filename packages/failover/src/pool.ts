import { familyBits, formatIp, type IpFamily, parseIp } from './ip.js';

/** One contiguous run of addresses from a pool entry, inclusive on both ends. */
export interface PoolSegment {
  readonly start: bigint;
  readonly end: bigint;
  /** The pool entry the segment came from, for messages. */
  readonly entry: string;
}

/** A pool entry that could not be parsed, with the reason. */
export interface PoolEntryProblem {
  readonly index: number;
  readonly entry: string;
  readonly message: string;
}

/**
 * An address pool of one family, in entry order, never expanded: the n-th address is found by walking
 * the segments, so a `/64` costs as much as a single address.
 */
export class AddressPool {
  readonly family: IpFamily;
  readonly segments: readonly PoolSegment[];
  readonly size: bigint;
  readonly problems: readonly PoolEntryProblem[];

  private constructor(family: IpFamily, segments: PoolSegment[], problems: PoolEntryProblem[]) {
    this.family = family;
    this.segments = segments;
    this.problems = problems;
    let size = 0n;
    for (const s of segments) size += s.end - s.start + 1n;
    this.size = size;
  }

  /**
   * Parses pool entries of one family: single addresses (`10.6.1.55`), ranges (`10.6.1.55-10.6.1.60`)
   * and CIDRs (`10.6.1.0/24`, all addresses of the prefix). Bad entries are reported in `problems`
   * and skipped.
   */
  static parse(family: IpFamily, entries: readonly string[] | undefined): AddressPool {
    const segments: PoolSegment[] = [];
    const problems: PoolEntryProblem[] = [];
    (entries ?? []).forEach((raw, index) => {
      const result = parseEntry(family, String(raw));
      if (typeof result === 'string') problems.push({ index, entry: String(raw), message: result });
      else segments.push({ ...result, entry: String(raw) });
    });
    return new AddressPool(family, segments, problems);
  }

  /** Pool position of an address given as text, or `-1n` when it is not in the pool or does not parse. */
  indexOf(address: string): bigint {
    const parsed = parseIp(address);
    if (parsed === null || parsed.family !== this.family) return -1n;
    let offset = 0n;
    for (const s of this.segments) {
      if (parsed.value >= s.start && parsed.value <= s.end) return offset + (parsed.value - s.start);
      offset += s.end - s.start + 1n;
    }
    return -1n;
  }

  /** The address at a pool position (canonical text), or `null` past the end. */
  at(index: bigint): string | null {
    if (index < 0n) return null;
    let rest = index;
    for (const s of this.segments) {
      const len = s.end - s.start + 1n;
      if (rest < len) return formatIp(this.family, s.start + rest);
      rest -= len;
    }
    return null;
  }
}

function parseEntry(family: IpFamily, raw: string): { start: bigint; end: bigint } | string {
  const text = raw.trim();
  const slash = text.indexOf('/');
  if (slash !== -1) {
    const base = parseIp(text.slice(0, slash));
    const prefixText = text.slice(slash + 1);
    const bits = familyBits(family);
    if (base === null || base.family !== family) return `not an IPv${family} CIDR`;
    if (!/^[0-9]{1,3}$/.test(prefixText) || Number(prefixText) > bits) return 'bad prefix length';
    const hostBits = BigInt(bits - Number(prefixText));
    const start = (base.value >> hostBits) << hostBits;
    return { start, end: start + (1n << hostBits) - 1n };
  }
  const dash = text.indexOf('-');
  if (dash !== -1) {
    const a = parseIp(text.slice(0, dash));
    const b = parseIp(text.slice(dash + 1));
    if (a === null || b === null || a.family !== family || b.family !== family) {
      return `not an IPv${family} range`;
    }
    if (a.value > b.value) return 'range start is after its end';
    return { start: a.value, end: b.value };
  }
  const single = parseIp(text);
  if (single === null || single.family !== family) return `not an IPv${family} address`;
  return { start: single.value, end: single.value };
}
