/**
 * IP addresses as `{ family, value }` with the value an unsigned bigint, so that a pool can be an
 * IPv6 /64 and nothing here ever builds a list of addresses. Parsing is strict, as Kubernetes'
 * validation is: no whitespace, no zone index, no IPv4 leading zeros (see the README's decisions).
 */
import { err, ok, type Result, unwrap } from './result.js';

/** Address family: 4 or 6. The only family type of the project. */
export type IpFamily = 4 | 6;

/** A parsed address: its family and its value as an unsigned integer (network order). */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

const MAX4 = (1n << 32n) - 1n;
const MAX6 = (1n << 128n) - 1n;

/** Number of bits of an address of this family: 32 or 128. */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** The largest address value of a family (`255.255.255.255`, `ffff:…:ffff`). */
export function maxAddress(family: IpFamily): bigint {
  return family === 4 ? MAX4 : MAX6;
}

const V4_HINT = 'write four decimal numbers 0-255 separated by dots, e.g. 198.18.0.1';
const V6_HINT = "write eight groups of 1-4 hex digits separated by ':', with at most one '::', e.g. fd00::1";
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const DECIMAL = /^[0-9]{1,3}$/;

function q(text: string): string {
  return JSON.stringify(text);
}

/** Problems every address text is checked for before its family's syntax. */
function commonProblem(text: string): string | undefined {
  if (text === '') return 'the address is empty: write an IPv4 (198.18.0.1) or IPv6 (fd00::1) address';
  if (text.trim() !== text) return `${q(text)} has leading or trailing whitespace: remove it`;
  if (/\s/.test(text)) return `${q(text)} contains whitespace: remove it`;
  const zone = text.indexOf('%');
  if (zone >= 0) {
    return `${q(text)} has a zone index (${text.slice(zone)}): a zone names a link of one host and is not accepted here; write ${text.slice(0, zone)}`;
  }
  if (text.startsWith('[') || text.endsWith(']')) {
    return `${q(text)} is in brackets: write the address without them`;
  }
  return undefined;
}

function parseV4(text: string, whole: string): Result<bigint> {
  const parts = text.split('.');
  if (parts.length !== 4) return err(`${q(whole)} is not an IPv4 address: ${V4_HINT}`);
  let value = 0;
  for (const part of parts) {
    if (!DECIMAL.test(part)) return err(`${q(whole)} is not an IPv4 address: ${V4_HINT}`);
    if (part.length > 1 && part.startsWith('0')) {
      return err(
        `${q(whole)} has a leading zero in ${q(part)}: some tools read such a part as octal; write it without leading zeros`,
      );
    }
    const n = Number(part);
    if (n > 255) return err(`${q(whole)} is not an IPv4 address: ${part} is larger than 255`);
    value = value * 256 + n;
  }
  return ok(BigInt(value));
}

/** Groups of one side of a '::' (or of a whole address): numbers, or a reason. */
function parseGroups(text: string, dottedTailAllowed: boolean, whole: string): number[] | string {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (part.includes('.')) {
      if (!dottedTailAllowed || i !== parts.length - 1) return 'an embedded IPv4 address may only end it';
      const v4 = parseV4(part, whole);
      if (!v4.ok) return `its embedded IPv4 part ${q(part)} is not valid`;
      groups.push(Number(v4.value >> 16n), Number(v4.value & 0xffffn));
      continue;
    }
    if (part === '') return "it has an empty group (a single ':' at an end, or ':::')";
    if (!HEX_GROUP.test(part)) return `${q(part)} is not a group of 1-4 hex digits`;
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
}

function parseV6(text: string): Result<bigint> {
  const bad = (reason: string) => err(`${q(text)} is not an IPv6 address: ${reason}; ${V6_HINT}`);
  const gap = text.indexOf('::');
  let groups: number[];
  if (gap === -1) {
    const all = parseGroups(text, true, text);
    if (typeof all === 'string') return bad(all);
    if (all.length !== 8) return bad(`it has ${all.length} groups and no '::'`);
    groups = all;
  } else {
    if (text.indexOf('::', gap + 1) !== -1) return bad("it has more than one '::'");
    const head = parseGroups(text.slice(0, gap), false, text);
    if (typeof head === 'string') return bad(head);
    const tail = parseGroups(text.slice(gap + 2), true, text);
    if (typeof tail === 'string') return bad(tail);
    if (head.length + tail.length > 7) return bad("'::' must stand for at least one zero group");
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return ok(value);
}

/**
 * Parses one IPv4 or IPv6 address (no prefix length, no zone, no surrounding whitespace). An
 * IPv4-mapped IPv6 address (`::ffff:198.18.0.1`) is family 6.
 *
 * @example
 * ```ts
 * parseIp('fd00::55'); // { ok: true, value: { family: 6, value: 0xfd000000000000000000000000000055n } }
 * parseIp(' 10.0.0.1'); // { ok: false, error: '" 10.0.0.1" has leading or trailing whitespace: remove it' }
 * ```
 */
export function parseIp(text: string): Result<IpAddress> {
  if (typeof text !== 'string') return err(`expected an IP address as text, got ${typeof text}`);
  const problem = commonProblem(text);
  if (problem !== undefined) return err(problem);
  const slash = text.indexOf('/');
  if (slash >= 0) {
    return err(
      `${q(text)} has a prefix length: this field takes a single address; write ${text.slice(0, slash)}`,
    );
  }
  if (text.includes(':')) {
    const v = parseV6(text);
    return v.ok ? ok({ family: 6, value: v.value }) : v;
  }
  const v = parseV4(text, text);
  return v.ok ? ok({ family: 4, value: v.value }) : v;
}

/** {@link parseIp} for input validated elsewhere: throws {@link NetaddrError} when it does not parse. */
export function parseIpOrThrow(text: string): IpAddress {
  return unwrap(parseIp(text), text);
}

/**
 * Formats an address value: dotted quad for IPv4, RFC 5952 text for IPv6 (lower case, the longest run
 * of two or more zero groups compressed to '::', the first on ties). An IPv4-mapped address keeps
 * the hex form (`::ffff:c612:1`), as every formatter of the project did. `value` must be in range
 * for the family (`0 <= value <= maxAddress(family)`).
 *
 * @example
 * ```ts
 * formatIp(6, 0xfd000000000000000000000000000055n); // 'fd00::55'
 * ```
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
  let bestLen = 1;
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
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * The canonical text of an address ({@link formatIp} of {@link parseIp}), e.g. to compare
 * addresses written differently (`FD00:0::55` and `fd00::55`).
 */
export function canonicalIp(text: string): Result<string> {
  const p = parseIp(text);
  return p.ok ? ok(formatIp(p.value.family, p.value.value)) : p;
}

/** {@link canonicalIp} for input validated elsewhere: throws {@link NetaddrError} when it does not parse. */
export function canonicalIpOrThrow(text: string): string {
  return unwrap(canonicalIp(text), text);
}

/**
 * The canonical text of `text` when it is an address, otherwise `text` unchanged. For keys and
 * comparisons of values that were already validated or are reported elsewhere (status entries):
 * two spellings of one address compare equal, and a bad value stays visible as written.
 */
export function canonicalIpOrText(text: string): string {
  const c = canonicalIp(text);
  return c.ok ? c.value : text;
}

/** The address in network byte order: 4 bytes for IPv4, 16 for IPv6 (as netlink wants it). */
export function ipToBytes(address: IpAddress): Uint8Array {
  const len = address.family === 4 ? 4 : 16;
  const out = new Uint8Array(len);
  let v = address.value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** An address from network-order bytes; 4 bytes are IPv4, 16 are IPv6, any other length fails. */
export function ipFromBytes(bytes: Uint8Array): Result<IpAddress> {
  if (bytes.length !== 4 && bytes.length !== 16) {
    return err(`an address is 4 (IPv4) or 16 (IPv6) bytes long, got ${bytes.length}`);
  }
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return ok({ family: bytes.length === 4 ? 4 : 6, value });
}
