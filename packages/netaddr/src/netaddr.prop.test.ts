import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, type IpFamily, maxAddress, parseIp, parseIpOrThrow } from './address.js';
import { cidrContains, cidrRange, cidrSize, formatCidr, parseCidr } from './cidr.js';
import { distinctPoolSize, parsePool, poolAt, poolIndexOf } from './pool.js';
import { formatRange, type IpRange, mergeRanges, rangeContains } from './range.js';
import { compileSelector, type LabelSelectorLike } from './selector.js';

const family = fc.constantFrom<IpFamily>(4, 6);
const addressOf = (f: IpFamily) =>
  fc.bigInt({ min: 0n, max: maxAddress(f) }).map((value) => ({ family: f, value }));
const anyAddress = family.chain(addressOf);
const cidrOf = (f: IpFamily) =>
  fc.record({ address: addressOf(f), prefix: fc.integer({ min: 0, max: f === 4 ? 32 : 128 }) });
const anyCidr = family.chain(cidrOf);

describe('addresses', () => {
  it('format then parse returns the same address, for every value of both families', () => {
    fc.assert(
      fc.property(anyAddress, (a) => {
        expect(parseIp(formatIp(a.family, a.value))).toEqual({ ok: true, value: a });
      }),
    );
  });

  it('formatted IPv6 is what the WHATWG URL parser prints (RFC 5952), formatted IPv4 is a plain dotted quad', () => {
    fc.assert(
      fc.property(addressOf(6), (a) => {
        const text = formatIp(6, a.value);
        expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
      }),
    );
    fc.assert(
      fc.property(addressOf(4), (a) => {
        const text = formatIp(4, a.value);
        expect(isIPv4(text)).toBe(true);
        expect(new URL(`http://${text}/`).hostname).toBe(text);
      }),
    );
  });

  it('any legal spelling parses to the value the URL parser reads, and canonical text is a fixed point', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const a = parseIpOrThrow(text);
        const canonical = formatIp(a.family, a.value);
        expect(parseIpOrThrow(canonical)).toEqual(a);
        const host = a.family === 4 ? text : `[${text}]`;
        const urlHost = new URL(`http://${host}/`).hostname;
        expect(a.family === 4 ? urlHost : urlHost.slice(1, -1)).toBe(
          a.family === 4 ? canonical : new URL(`http://[${canonical}]/`).hostname.slice(1, -1),
        );
      }),
    );
  });

  it('the parser accepts exactly what node:net accepts, once zones are set aside', () => {
    const chars = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
    const junk = fc.string({ unit: chars, maxLength: 45 });
    // Address-shaped pieces, so that near misses (nine groups, two '::', 01, 256, a dotted quad
    // in the middle) come up often.
    const piece = fc.constantFrom(
      '0',
      '1',
      '00',
      '01',
      'ffff',
      'FfFf',
      '12345',
      'g',
      ':',
      '::',
      '.',
      '255',
      '256',
      '1.2.3.4',
    );
    const nearMiss = fc.array(piece, { maxLength: 14 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(junk, nearMiss, fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (text) => {
        const node = isIPv4(text) || isIPv6(text);
        expect(parseIp(text).ok).toBe(node);
      }),
    );
  });

  it('whitespace around, or a zone after, any valid address is refused and named', () => {
    const space = fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0');
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), space, fc.boolean(), (text, ws, before) => {
        const r = parseIp(before ? `${ws}${text}` : `${text}${ws}`);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toContain('whitespace');
      }),
    );
    fc.assert(
      fc.property(fc.ipV6(), fc.stringMatching(/^[a-z0-9.]{1,15}$/), (text, zone) => {
        const r = parseIp(`${text}%${zone}`);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toContain(`zone index (%${zone})`);
      }),
    );
  });
});

describe('CIDRs', () => {
  it('parse then format is the network with its prefix, and parsing that is a fixed point', () => {
    fc.assert(
      fc.property(anyCidr, ({ address, prefix }) => {
        const c = parseCidr(`${formatIp(address.family, address.value)}/${prefix}`);
        if (!c.ok) throw new Error(c.error);
        const again = parseCidr(formatCidr(c.value));
        expect(again).toEqual({ ok: true, value: { ...c.value, hostBitsSet: false } });
        const bits = address.family === 4 ? 32 : 128;
        expect(c.value.hostBitsSet).toBe(address.value % (1n << BigInt(bits - prefix)) !== 0n);
      }),
    );
  });

  it('an address is in a CIDR exactly when its top prefix bits equal the network', () => {
    fc.assert(
      fc.property(
        family.chain((f) => fc.tuple(cidrOf(f), addressOf(f))),
        ([{ address, prefix }, probe]) => {
          const c = parseCidr(`${formatIp(address.family, address.value)}/${prefix}`);
          if (!c.ok) throw new Error(c.error);
          const shift = BigInt((address.family === 4 ? 32 : 128) - prefix);
          const expected = probe.value >> shift === address.value >> shift;
          expect(cidrContains(c.value, probe)).toBe(expected);
          const r = cidrRange(c.value);
          expect(rangeContains(r, probe.value)).toBe(expected);
          expect(r.end - r.start + 1n).toBe(cidrSize(c.value));
          expect(cidrContains(c.value, address)).toBe(true);
        },
      ),
    );
  });
});

/** A small pool of one family, in a narrow window so that entries overlap often. */
const smallRange = fc
  .tuple(fc.bigInt({ min: 0n, max: 60n }), fc.bigInt({ min: 0n, max: 6n }))
  .map(([start, len]): IpRange => ({ start, end: start + len }));
const BASE4 = 0xc6120000n; // 198.18.0.0

describe('ranges and pool segments', () => {
  it('mergeRanges covers exactly the union, sorted, disjoint and not adjacent', () => {
    fc.assert(
      fc.property(fc.array(smallRange, { maxLength: 8 }), (ranges) => {
        const merged = mergeRanges(ranges);
        for (let v = 0n; v <= 70n; v++) {
          expect(merged.some((r) => rangeContains(r, v))).toBe(ranges.some((r) => rangeContains(r, v)));
        }
        for (let i = 1; i < merged.length; i++) {
          expect((merged[i] as IpRange).start > (merged[i - 1] as IpRange).end + 1n).toBe(true);
        }
      }),
    );
  });

  it('pool positions: poolAt and poolIndexOf are inverse, size counts distinct addresses', () => {
    fc.assert(
      fc.property(
        fc.array(smallRange, { minLength: 1, maxLength: 6 }),
        fc.bigInt({ min: 0n, max: 80n }),
        (ranges, n) => {
          const entries = ranges.map((r) => formatRange(4, { start: BASE4 + r.start, end: BASE4 + r.end }));
          const pool = parsePool(entries, { family: 4 });
          expect(pool.problems).toEqual([]);
          // Entries merge: each address once, at the position of the first entry listing it.
          const expanded = [
            ...new Set(
              ranges.flatMap((r) => {
                const out: string[] = [];
                for (let v = r.start; v <= r.end; v++) out.push(formatIp(4, BASE4 + v));
                return out;
              }),
            ),
          ];
          expect(pool.size).toBe(BigInt(expanded.length));
          expect(distinctPoolSize(pool)).toBe(pool.size);
          expect(poolAt(pool, n)).toBe(expanded[Number(n)]);
          const address = formatIp(4, BASE4 + n);
          const first = expanded.indexOf(address);
          expect(poolIndexOf(pool, address)).toBe(first === -1 ? undefined : BigInt(first));
          if (first !== -1) expect(poolAt(pool, BigInt(first))).toBe(address);
        },
      ),
    );
  });
});

const key = fc.constantFrom('app', 'zone', 'example.com/tier');
const value = fc.constantFrom('a', 'b', '');
const requirement = fc.oneof(
  fc.record({
    key,
    operator: fc.constantFrom('In', 'NotIn'),
    values: fc.array(value, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({ key, operator: fc.constantFrom('Exists', 'DoesNotExist') }),
);
const selector: fc.Arbitrary<LabelSelectorLike> = fc.record(
  {
    matchLabels: fc.dictionary(key, value, { maxKeys: 2 }),
    matchExpressions: fc.array(requirement, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const labels = fc.dictionary(key, value, { maxKeys: 3 });

/** The meaning of each operator, written plainly, as the reference for the compiled matcher. */
function reference(s: LabelSelectorLike, l: Record<string, string>): boolean {
  const has = (k: string) => Object.hasOwn(l, k);
  return (
    Object.entries(s.matchLabels ?? {}).every(([k, v]) => has(k) && l[k] === v) &&
    (s.matchExpressions ?? []).every((r) => {
      const vals = r.values ?? [];
      if (r.operator === 'In') return has(r.key) && vals.includes(l[r.key] as string);
      if (r.operator === 'NotIn') return !has(r.key) || !vals.includes(l[r.key] as string);
      if (r.operator === 'Exists') return has(r.key);
      return !has(r.key);
    })
  );
}

describe('label selectors', () => {
  it('a valid selector matches exactly what the operator definitions say', () => {
    fc.assert(
      fc.property(selector, labels, (s, l) => {
        const c = compileSelector(s);
        if (!c.ok) throw new Error(c.error);
        expect(c.value.matches(l)).toBe(reference(s, l));
      }),
    );
  });

  it('a selector with any requirement Kubernetes refuses is an error, whatever else it holds', () => {
    const badRequirement = fc.oneof(
      fc.record({
        key,
        operator: fc
          .stringMatching(/^[A-Za-z]{0,8}$/)
          .filter((o) => !['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(o)),
      }),
      fc.record({ key, operator: fc.constantFrom('In', 'NotIn'), values: fc.constant([]) }),
      fc.record({
        key,
        operator: fc.constantFrom('Exists', 'DoesNotExist'),
        values: fc.array(value, { minLength: 1 }),
      }),
    );
    fc.assert(
      fc.property(selector, badRequirement, fc.nat(), (s, bad, at) => {
        const exprs = [...(s.matchExpressions ?? [])];
        exprs.splice(at % (exprs.length + 1), 0, bad);
        expect(compileSelector({ ...s, matchExpressions: exprs }).ok).toBe(false);
      }),
    );
  });
});
