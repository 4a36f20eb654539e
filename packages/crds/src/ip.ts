import { isIPv4, isIPv6 } from 'node:net';

/** Address family: 4 or 6. */
export type IpFamily = 4 | 6;

/** A parsed address: its family and its value as an unsigned integer. */
export interface ParsedIp {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** Number of bits of an address of this family. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/**
 * Parses one IPv4 or IPv6 address (no prefix, no zone). Returns `undefined` when the text is not
 * an address, so callers can report the field that holds it.
 *
 * @example parseIp('fd00::55') // { family: 6, value: 0xfd000000...55n }
 */
export function parseIp(text: string): ParsedIp | undefined {
  if (isIPv4(text)) {
    let value = 0n;
    for (const part of text.split('.')) value = (value << 8n) | BigInt(Number(part));
    return { family: 4, value };
  }
  if (isIPv6(text) && !text.includes('%')) return { family: 6, value: parseIpv6(text) };
  return undefined;
}

function parseIpv6(text: string): bigint {
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hextets first.
  let t = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted?.[1]) {
    const v4 = parseIp(dotted[1])?.value ?? 0n;
    t = `${t.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = t.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(zeros).fill('0'), ...tailParts];
  let value = 0n;
  for (const p of parts) value = (value << 16n) | BigInt(Number.parseInt(p, 16));
  return value;
}

/** Formats an address value in canonical form (RFC 5952 for IPv6). */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  }
  const hextets: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) hextets.push(Number((value >> s) & 0xffffn));
  // The longest run of two or more zero hextets becomes '::' (the first such run on ties).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Returns the canonical text of an address, or `undefined` if it is not one. */
export function canonicalIp(text: string): string | undefined {
  const p = parseIp(text);
  return p && formatIp(p.family, p.value);
}

/** A parsed CIDR: family, network address value and prefix length. */
export interface ParsedCidr {
  readonly family: IpFamily;
  readonly network: bigint;
  readonly prefix: number;
  /** True when the address part had bits set below the prefix (`10.0.0.1/24`). */
  readonly hostBitsSet: boolean;
}

/** Parses `address/prefix`; `undefined` when malformed. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const bits = familyBits(ip.family);
  if (prefix > bits) return undefined;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return {
    family: ip.family,
    network: ip.value & ~hostMask,
    prefix,
    hostBitsSet: (ip.value & hostMask) !== 0n,
  };
}
