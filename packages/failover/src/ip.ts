/**
 * IP address parsing and formatting on bigints. Pools can be IPv6 /64s, so every address is a bigint
 * and nothing here ever builds a list of addresses.
 */

/** Address family. */
export type IpFamily = 4 | 6;

/** A parsed address: its family and its value as an unsigned integer. */
export interface ParsedIp {
  readonly family: IpFamily;
  readonly value: bigint;
}

const V4_PART = /^(0|[1-9][0-9]{0,2})$/;
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!V4_PART.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return BigInt(value);
}

function parseGroups(text: string): number[] | null {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    // An embedded IPv4 address may only end the address (::ffff:192.0.2.1).
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!V6_GROUP.test(part)) return null;
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
}

function parseIpv6(text: string): bigint | null {
  const doubleColon = text.indexOf('::');
  let groups: number[];
  if (doubleColon === -1) {
    const all = parseGroups(text);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else {
    if (text.indexOf('::', doubleColon + 1) !== -1) return null;
    const head = parseGroups(text.slice(0, doubleColon));
    const tail = parseGroups(text.slice(doubleColon + 2));
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/**
 * Parses an IPv4 or IPv6 address (no zone, no prefix). Returns `null` for anything else, so
 * callers can turn bad input into a warning instead of an exception.
 *
 * @example
 * ```ts
 * parseIp('fd00::55'); // { family: 6, value: 0xfd000000000000000000000000000055n }
 * ```
 */
export function parseIp(text: string): ParsedIp | null {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const v = parseIpv6(trimmed);
    return v === null ? null : { family: 6, value: v };
  }
  const v = parseIpv4(trimmed);
  return v === null ? null : { family: 4, value: v };
}

/** Bits in an address of the family. */
export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/**
 * Formats an address value: dotted quad for IPv4, RFC 5952 canonical text for IPv6 (lower case,
 * the longest run of two or more zero groups compressed, the first one on ties).
 */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    const n = Number(value);
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  // One hex conversion instead of eight bigint shifts: formatting is on the engine's hot path.
  const hex32 = value.toString(16).padStart(32, '0');
  const groups: number[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(Number.parseInt(hex32.slice(i, i + 4), 16));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** Canonical text of an address, or `null` when it does not parse. */
export function canonicalIp(text: string): string | null {
  const parsed = parseIp(text);
  return parsed === null ? null : formatIp(parsed.family, parsed.value);
}
