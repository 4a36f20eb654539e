import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, type IpFamily } from './address.js';
import {
  distinctPoolSize,
  iteratePool,
  parsePool,
  poolAt,
  poolContains,
  poolExclusionOf,
  poolIndexOf,
} from './pool.js';

// Issue 19: pools read as upstream EgressGateway v0.6.9 reads them. Upstream's verdicts, in our words:
// pkg/utils/ip/ip.go parses a CIDR with Go's net.ParseCIDR (host bits masked) and, for IPv4, leaves
// out the first and last address (ip.go:490-493, a /30 holds 2); a range is split on "-" and each end
// must be a bare address (no spaces, ordered, one family; ip.go:415-476); the pool is the union of
// every entry's addresses (duplicates and overlaps merge, ip.go:258-316); the gateway webhook
// (egress_gateway_webhook.go:82-104) refuses an entry that is none of these, blank included.
// The shortest prefixes, read from upstream's code (v0.6.9, pkg/utils/ip/ip.go:478-495, CidrToIPs):
// it lists every address the masked CIDR covers and drops the first and the last only when the
// CIDR is IPv4 and the list holds more than two addresses. So an IPv4 /31 keeps both its addresses,
// a /32 its one, and IPv6 never drops any (a /127 holds 2, a /128 1). Every reader of a pool goes
// through that function (MergeIPRanges -> ConvertCidrOrIPrangeToIPs -> CidrsToIPs): the webhook's
// counts and default-EIP check (egress_gateway_webhook.go:82-132), the mutating default EIP
// (:267-304), rr allocation (egress_gateway.go:992-1061, any address of the list that no EIP uses)
// and ipUsage (egress_gateway.go:1357-1383).

const yields: Array<[string, readonly string[], readonly string[] | number]> = [
  ['single address', ['198.18.0.5'], ['198.18.0.5']],
  ['range', ['198.18.0.5-198.18.0.7'], ['198.18.0.5', '198.18.0.6', '198.18.0.7']],
  ['range of one', ['198.18.0.5-198.18.0.5'], ['198.18.0.5']],
  ['IPv4 /30 without network and broadcast (ip.go:490-493)', ['198.18.0.0/30'], ['198.18.0.1', '198.18.0.2']],
  [
    'IPv4 /29',
    ['198.18.0.8/29'],
    ['198.18.0.9', '198.18.0.10', '198.18.0.11', '198.18.0.12', '198.18.0.13', '198.18.0.14'],
  ],
  ['IPv4 /24 with host bits, masked (net.ParseCIDR)', ['198.18.0.1/24'], 254],
  ["upstream's reference example 10.6.1.70/28 (masked to 10.6.1.64/28)", ['10.6.1.70/28'], 14],
  // ip.go:490: `len(ips) > 2` is false for the 2 addresses of a /31, so both stay.
  [
    'IPv4 /31 keeps both (ip.go:490, two addresses are not trimmed)',
    ['198.18.0.4/31'],
    ['198.18.0.4', '198.18.0.5'],
  ],
  ['IPv4 /31 with host bits, masked', ['198.18.0.5/31'], ['198.18.0.4', '198.18.0.5']],
  // ip.go:490: a /32 lists one address, kept.
  ['IPv4 /32 keeps its address (ip.go:490)', ['198.18.0.9/32'], ['198.18.0.9']],
  ['IPv6 /126 keeps every address', ['fd00::/126'], ['fd00::', 'fd00::1', 'fd00::2', 'fd00::3']],
  ['IPv6 /126 with host bits, masked', ['fd00::5/126'], ['fd00::4', 'fd00::5', 'fd00::6', 'fd00::7']],
  ['IPv6 range', ['fd00::1-fd00::3'], ['fd00::1', 'fd00::2', 'fd00::3']],
  // ip.go:490: the trim is for IPv4 only (isIPv4), so an IPv6 /127 keeps both and a /128 its one.
  ['IPv6 /127 keeps both (ip.go:490, IPv6 is never trimmed)', ['fd00::8/127'], ['fd00::8', 'fd00::9']],
  ['IPv6 /127 with host bits, masked', ['fd00::9/127'], ['fd00::8', 'fd00::9']],
  ['IPv6 /128 keeps its address (ip.go:490)', ['fd00::9/128'], ['fd00::9']],
  ['duplicates merge (ip.go:258-316)', ['198.18.0.5', '198.18.0.5', '198.18.0.5-198.18.0.5'], ['198.18.0.5']],
  [
    'overlapping CIDR and range merge, first entry keeps its positions',
    ['198.18.0.0/29', '198.18.0.5-198.18.0.9'],
    [
      '198.18.0.1',
      '198.18.0.2',
      '198.18.0.3',
      '198.18.0.4',
      '198.18.0.5',
      '198.18.0.6',
      '198.18.0.7',
      '198.18.0.8',
      '198.18.0.9',
    ],
  ],
  [
    'network address listed on its own stays in',
    ['198.18.0.0/30', '198.18.0.0'],
    ['198.18.0.1', '198.18.0.2', '198.18.0.0'],
  ],
  ['a CIDR inside a larger one adds nothing', ['198.18.0.0/29', '198.18.0.2/31'], 6],
  ['equal CIDRs written two ways', ['198.18.0.0/30', '198.18.0.3/30'], ['198.18.0.1', '198.18.0.2']],
];

const refused: Array<[string, string, string]> = [
  ['blank entry', '', 'blank'],
  ['spaces only', '  ', 'blank'],
  [
    '"a - b" with spaces (ip.go:415-476 splits on "-" and reads each side as a bare address)',
    '198.18.0.1 - 198.18.0.3',
    'whitespace',
  ],
  ['leading space', ' 198.18.0.1', 'whitespace'],
  ['trailing space in a CIDR', '198.18.0.0/30 ', 'whitespace'],
  ['unordered range', '198.18.0.3-198.18.0.1', 'ends before it starts'],
  ['mixed-family range', '198.18.0.1-fd00::1', 'mixes IPv4 and IPv6'],
  ['three-part range', '198.18.0.1-198.18.0.2-198.18.0.3', 'not a valid range'],
  ['prefix out of range', '198.18.0.0/33', 'invalid prefix length'],
  ['not an address', 'gateway-1', 'not a valid range'],
];

describe('pool arithmetic as upstream v0.6.9 (issue 19)', () => {
  it.each(yields)('%s', (_name, entries, expected) => {
    const pool = parsePool(entries);
    expect(pool.problems).toEqual([]);
    const all = [...iteratePool(pool)];
    if (typeof expected === 'number') expect(all.length).toBe(expected);
    else expect(all).toEqual(expected);
    expect(pool.size).toBe(BigInt(all.length));
    expect(distinctPoolSize(pool)).toBe(pool.size);
    expect(new Set(all).size).toBe(all.length);
    all.forEach((a, i) => {
      expect(poolIndexOf(pool, a)).toBe(BigInt(i));
      expect(poolAt(pool, BigInt(i))).toBe(a);
    });
  });

  it.each(refused)('refuses %s', (_name, entry, reason) => {
    const pool = parsePool(['198.18.1.1', entry]);
    expect(pool.problems).toEqual([{ index: 1, entry, message: expect.stringContaining(reason) }]);
    expect(pool.size).toBe(1n);
  });

  it('says why a network or broadcast address is not in the pool', () => {
    const pool = parsePool(['198.18.0.1/24']);
    expect(poolContains(pool, '198.18.0.0')).toBe(false);
    expect(poolExclusionOf(pool, '198.18.0.0')).toMatchObject({ role: 'network', entry: '198.18.0.1/24' });
    expect(poolExclusionOf(pool, '198.18.0.255')).toMatchObject({ role: 'broadcast', index: 0 });
    expect(poolExclusionOf(pool, '198.18.0.7')).toBeUndefined();
    expect(poolExclusionOf(parsePool(['198.18.0.0/30', '198.18.0.0']), '198.18.0.0')).toBeUndefined();
  });
});

/** A generated entry with its structure, so the model below never parses text. */
type GenEntry =
  | { kind: 'ip'; family: IpFamily; v: bigint }
  | { kind: 'range'; family: IpFamily; a: bigint; b: bigint }
  | { kind: 'cidr'; family: IpFamily; v: bigint; prefix: number };

const BASE = { 4: 0xc6120000n, 6: 0xfdn << 120n } as const; // 198.18.0.0, fd00::
const bits = (f: IpFamily) => (f === 4 ? 32 : 128);

const genEntry = (family: IpFamily): fc.Arbitrary<GenEntry> =>
  fc.oneof(
    fc.bigInt({ min: 0n, max: 40n }).map((v): GenEntry => ({ kind: 'ip', family, v })),
    fc
      .tuple(fc.bigInt({ min: 0n, max: 40n }), fc.bigInt({ min: 0n, max: 6n }))
      .map(([a, n]): GenEntry => ({ kind: 'range', family, a, b: a + n })),
    fc
      .tuple(fc.bigInt({ min: 0n, max: 40n }), fc.integer({ min: bits(family) - 4, max: bits(family) }))
      .map(([v, prefix]): GenEntry => ({ kind: 'cidr', family, v, prefix })),
  );

function render(e: GenEntry): string {
  const ip = (x: bigint) => formatIp(e.family, BASE[e.family] + x);
  if (e.kind === 'ip') return ip(e.v);
  if (e.kind === 'range') return `${ip(e.a)}-${ip(e.b)}`;
  return `${ip(e.v)}/${e.prefix}`;
}

/** Upstream's reading, written naively: expand, drop IPv4 network/broadcast up to /30, union in order. */
function model(entries: readonly GenEntry[]): string[] {
  const out: string[] = [];
  for (const e of entries) {
    const f = e.family;
    let list: bigint[] = [];
    if (e.kind === 'ip') list = [e.v];
    else if (e.kind === 'range') for (let x = e.a; x <= e.b; x++) list.push(x);
    else {
      const span = 2n ** BigInt(bits(f) - e.prefix);
      const net = (e.v / span) * span;
      for (let x = net; x < net + span; x++) list.push(x);
      if (f === 4 && e.prefix <= 30) list = list.slice(1, -1);
    }
    for (const x of list) out.push(formatIp(f, BASE[f] + x));
  }
  return [...new Set(out)];
}

describe('pool arithmetic, property: parsePool matches the naive upstream model', () => {
  it('same addresses, in first-listed order, for random singles, ranges and host-bit CIDRs of both families', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom<IpFamily>(4, 6)
          .chain((f) => fc.tuple(fc.constant(f), fc.array(genEntry(f), { maxLength: 7 }))),
        fc.bigInt({ min: 0n, max: 50n }),
        ([family, gen], probe) => {
          const pool = parsePool(gen.map(render), { family });
          expect(pool.problems).toEqual([]);
          const expected = model(gen);
          expect([...iteratePool(pool)]).toEqual(expected);
          expect(pool.size).toBe(BigInt(expected.length));
          expect(distinctPoolSize(pool)).toBe(pool.size);
          const address = formatIp(family, BASE[family] + probe);
          expect(poolContains(pool, address)).toBe(expected.includes(address));
          const i = expected.indexOf(address);
          expect(poolIndexOf(pool, address)).toBe(i === -1 ? undefined : BigInt(i));
        },
      ),
    );
  });
});
