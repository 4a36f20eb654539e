import { familyBits, formatIp, type IpFamily, parseIp } from './address.js';
import type { IpRange } from './range.js';
import { err, ok, type Result, unwrap } from './result.js';

/** A parsed CIDR: family, network address (host bits cleared), prefix length. */
export interface Cidr {
  readonly family: IpFamily;
  /** The network address: the address as written with the bits below the prefix cleared. */
  readonly network: bigint;
  readonly prefix: number;
  /**
   * True when the address as written had bits set below the prefix (`10.0.0.1/24`). Whether that is
   * an error is the caller's choice (a pool refuses it, a route destination masks it).
   */
  readonly hostBitsSet: boolean;
}

const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

function q(text: string): string {
  return JSON.stringify(text);
}

/**
 * Parses `address/prefix` (the address as {@link parseIp} takes it; the prefix decimal, 0 to 32 or
 * 128, without leading zeros).
 *
 * @example
 * ```ts
 * parseCidr('198.18.0.0/15'); // { ok: true, value: { family: 4, network: 0xc6120000n, prefix: 15, hostBitsSet: false } }
 * ```
 */
export function parseCidr(text: string): Result<Cidr> {
  if (typeof text !== 'string') return err(`expected a CIDR as text, got ${typeof text}`);
  const slash = text.indexOf('/');
  if (slash < 0) {
    return err(`${q(text)} is not a CIDR: write it as <address>/<prefix length>, e.g. 198.18.0.0/24`);
  }
  const ip = parseIp(text.slice(0, slash));
  if (!ip.ok) return err(`${q(text)} is not a valid CIDR: ${ip.error}`);
  return withPrefix(text, ip.value.family, ip.value.value, text.slice(slash + 1));
}

function withPrefix(text: string, family: IpFamily, value: bigint, prefixText: string): Result<Cidr> {
  const bits = familyBits(family);
  if (!PREFIX.test(prefixText) || Number(prefixText) > bits) {
    return err(
      `${q(text)} has an invalid prefix length ${q(prefixText)}: write a decimal number from 0 to ${bits} without leading zeros`,
    );
  }
  const prefix = Number(prefixText);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return ok({ family, network: value & ~hostMask, prefix, hostBitsSet: (value & hostMask) !== 0n });
}

/**
 * Parses a CIDR or a bare address; a bare address is the single-address CIDR (`/32`, `/128`), as
 * route destinations and nft sets take it.
 */
export function parseIpOrCidr(text: string): Result<Cidr> {
  if (typeof text === 'string' && !text.includes('/')) {
    const ip = parseIp(text);
    if (!ip.ok) return ip;
    return ok({
      family: ip.value.family,
      network: ip.value.value,
      prefix: familyBits(ip.value.family),
      hostBitsSet: false,
    });
  }
  return parseCidr(text);
}

/** {@link parseIpOrCidr} for input validated elsewhere: throws {@link NetaddrError} when it does not parse. */
export function parseIpOrCidrOrThrow(text: string): Cidr {
  return unwrap(parseIpOrCidr(text), text);
}

/**
 * The family of an address or CIDR, or `undefined` when the text is neither. A classifier (like
 * `node:net`'s `isIP`), for filtering lists already validated; use {@link parseIpOrCidr} to report
 * what is wrong.
 */
export function familyOf(text: string): IpFamily | undefined {
  const r = parseIpOrCidr(text);
  return r.ok ? r.value.family : undefined;
}

/** The inclusive address range a CIDR covers (network address to last address). */
export function cidrRange(cidr: Cidr): IpRange {
  const hostMask = (1n << BigInt(familyBits(cidr.family) - cidr.prefix)) - 1n;
  return { start: cidr.network, end: cidr.network | hostMask };
}

/** Number of addresses a CIDR covers (`2^(bits - prefix)`). */
export function cidrSize(cidr: Cidr): bigint {
  return 1n << BigInt(familyBits(cidr.family) - cidr.prefix);
}

/** True when the address (same family) lies inside the CIDR. */
export function cidrContains(cidr: Cidr, address: { family: IpFamily; value: bigint }): boolean {
  if (address.family !== cidr.family) return false;
  const r = cidrRange(cidr);
  return r.start <= address.value && address.value <= r.end;
}

/** Canonical `network/prefix` text of a CIDR (host bits are not shown: they were cleared). */
export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.family, cidr.network)}/${cidr.prefix}`;
}
