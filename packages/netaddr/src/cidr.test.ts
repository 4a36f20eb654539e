import { describe, expect, it } from 'vitest';
import { parseIpOrThrow } from './address.js';
import { cidrContains, cidrRange, familyOf, formatCidr, parseCidr, parseIpOrCidr } from './cidr.js';

describe('parseCidr', () => {
  it('parses both families and records host bits without refusing them', () => {
    expect(parseCidr('198.18.0.0/15')).toEqual({
      ok: true,
      value: { family: 4, network: 0xc6120000n, prefix: 15, hostBitsSet: false },
    });
    expect(parseCidr('10.6.1.70/28')).toEqual({
      ok: true,
      value: { family: 4, network: 0x0a060140n, prefix: 28, hostBitsSet: true },
    });
    expect(parseCidr('fd00::/8')).toMatchObject({ ok: true, value: { family: 6, prefix: 8 } });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ ok: true, value: { network: 0n, prefix: 0 } });
  });

  it('refuses bad prefixes, leading zeros, a missing slash and bad addresses, saying how to write them', () => {
    expect(parseCidr('198.18.0.0/33')).toEqual({
      ok: false,
      error:
        '"198.18.0.0/33" has an invalid prefix length "33": write a decimal number from 0 to 32 without leading zeros',
    });
    for (const bad of [
      'fd00::/129',
      '198.18.0.0/024',
      '198.18.0.0/',
      '198.18.0.0/x',
      '198.18.0.0/-1',
      '198.18.0.0/ 24',
    ])
      expect(parseCidr(bad)).toMatchObject({
        ok: false,
        error: expect.stringContaining('invalid prefix length'),
      });
    expect(parseCidr('198.18.0.0')).toMatchObject({
      ok: false,
      error: expect.stringContaining('is not a CIDR'),
    });
    expect(parseCidr('fe80::%eth0/64')).toMatchObject({
      ok: false,
      error: expect.stringContaining('zone index'),
    });
    expect(parseCidr(' 198.18.0.0/24')).toMatchObject({
      ok: false,
      error: expect.stringContaining('whitespace'),
    });
  });

  it('parseIpOrCidr reads a bare address as a single-address CIDR', () => {
    expect(parseIpOrCidr('fd00::1')).toMatchObject({
      ok: true,
      value: { family: 6, prefix: 128, network: 1n | (0xfdn << 120n) },
    });
    expect(parseIpOrCidr('198.18.0.0/24')).toMatchObject({ ok: true, value: { prefix: 24 } });
    expect(parseIpOrCidr('fd00::1%eth0').ok).toBe(false);
  });

  it('familyOf classifies addresses and CIDRs, undefined for anything else', () => {
    expect(familyOf('198.18.0.1')).toBe(4);
    expect(familyOf('fd00::/64')).toBe(6);
    expect(familyOf('fe80::1%eth0')).toBeUndefined();
    expect(familyOf('nope')).toBeUndefined();
  });

  it('range, containment and canonical text', () => {
    const c = parseIpOrCidr('198.19.1.7/24');
    if (!c.ok) throw new Error(c.error);
    expect(cidrRange(c.value)).toEqual({ start: 0xc6130100n, end: 0xc61301ffn });
    expect(formatCidr(c.value)).toBe('198.19.1.0/24');
    expect(cidrContains(c.value, parseIpOrThrow('198.19.1.255'))).toBe(true);
    expect(cidrContains(c.value, parseIpOrThrow('198.19.2.0'))).toBe(false);
    expect(cidrContains(c.value, parseIpOrThrow('::ffff:198.19.1.1'))).toBe(false);
  });
});
