import { isIPv4, isIPv6 } from 'node:net';

/** Address family as used throughout the package. */
export type Family = 4 | 6;

/** An inclusive address range in numeric form. */
export interface Range {
  readonly start: bigint;
  readonly end: bigint;
}

const MAX4 = (1n << 32n) - 1n;
const MAX6 = (1n << 128n) - 1n;

/** Maximum numeric address of a family. */
export function maxAddress(family: Family): bigint {
  return family === 4 ? MAX4 : MAX6;
}

/** Family of an address or CIDR, or undefined when it is neither. */
export function familyOf(addressOrCidr: string): Family | undefined {
  const addr = addressOrCidr.split('/')[0] ?? '';
  if (isIPv4(addr)) return 4;
  if (isIPv6(addr)) return 6;
  return undefined;
}

/** Parses an IPv4 or IPv6 address into a number (bigint). Throws on malformed input. */
export function parseAddress(address: string): { family: Family; value: bigint } {
  if (isIPv4(address)) {
    let v = 0n;
    for (const part of address.split('.')) v = (v << 8n) | BigInt(Number(part));
    return { family: 4, value: v };
  }
  if (isIPv6(address)) {
    let text = address;
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
    const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4tail?.[1] !== undefined) {
      const n = parseAddress(v4tail[1]).value;
      text = `${text.slice(0, -v4tail[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head = '', tail] = text.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    let v = 0n;
    for (const g of groups) v = (v << 16n) | BigInt(Number.parseInt(g, 16));
    return { family: 6, value: v };
  }
  throw new TypeError(`not an IP address: ${address}`);
}

/** Formats a numeric address in canonical text form (RFC 5952 for IPv6). */
export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups (length >= 2) becomes '::'.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text form of an address (lower case, compressed). */
export function normalizeAddress(address: string): string {
  const { family, value } = parseAddress(address);
  return formatAddress(family, value);
}

/** Parses `addr` or `addr/len` into a range; a bare address is a single-address range. */
export function cidrToRange(cidr: string): { family: Family; range: Range } {
  const [addr = '', lenText] = cidr.split('/');
  const { family, value } = parseAddress(addr);
  const bits = family === 4 ? 32 : 128;
  const len = lenText === undefined ? bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > bits || (lenText !== undefined && !/^\d+$/.test(lenText))) {
    throw new TypeError(`bad prefix length in ${cidr}`);
  }
  const hostBits = BigInt(bits - len);
  const mask = (1n << hostBits) - 1n;
  const start = value & ~mask & maxAddress(family);
  return { family, range: { start, end: start | mask } };
}

/** Address as a network-order byte buffer (for netlink). */
export function addressToBuffer(address: string): Buffer {
  const { family, value } = parseAddress(address);
  const len = family === 4 ? 4 : 16;
  const buf = Buffer.alloc(len);
  for (let i = 0; i < len; i++) buf[i] = Number((value >> BigInt((len - 1 - i) * 8)) & 0xffn);
  return buf;
}

/** Network-order bytes (4 or 16) to canonical address text. */
export function bufferToAddress(buf: Uint8Array): string {
  let v = 0n;
  for (const b of buf) v = (v << 8n) | BigInt(b);
  return formatAddress(buf.length === 4 ? 4 : 6, v);
}

/** Canonical lower-case MAC text from bytes. */
export function bufferToMac(buf: Uint8Array): string {
  return [...buf].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** MAC text to bytes. */
export function macToBuffer(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

/** True when `mac` is six colon-separated hex octets. */
export function isMac(mac: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac);
}

/** Sorts and merges overlapping or adjacent ranges into the minimal equivalent list. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1n) {
      if (r.end > last.end) out[out.length - 1] = { start: last.start, end: r.end };
    } else {
      out.push(r);
    }
  }
  return out;
}

/** `a-b` text of a range (`a` alone for a single address), as nft accepts it. */
export function formatRange(family: Family, r: Range): string {
  const a = formatAddress(family, r.start);
  return r.start === r.end ? a : `${a}-${formatAddress(family, r.end)}`;
}
