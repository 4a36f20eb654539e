import { describe, expect, it } from 'vitest';
import { canonicalIp, formatIp, parseIp } from './ip.js';
import { AddressPool } from './pool.js';

describe('parseIp / formatIp', () => {
  it('parses IPv4 and rejects bad quads', () => {
    expect(parseIp('10.6.1.56')).toEqual({ family: 4, value: 0x0a060138n });
    for (const bad of ['10.6.1', '10.6.1.256', '01.2.3.4', 'a.b.c.d', '1.2.3.4.5', ''])
      expect(parseIp(bad)).toBeNull();
  });

  it('parses IPv6 forms and rejects malformed ones', () => {
    expect(parseIp('fd00::55')?.value).toBe(0xfd000000000000000000000000000055n);
    expect(parseIp('::')?.value).toBe(0n);
    expect(parseIp('::ffff:192.0.2.1')?.value).toBe(0xffffc0000201n);
    for (const bad of ['fd00:::1', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', '12345::'])
      expect(parseIp(bad)).toBeNull();
  });

  it('formats IPv6 canonically (RFC 5952)', () => {
    expect(canonicalIp('FD00:0:0:0:0:0:0:55')).toBe('fd00::55');
    expect(canonicalIp('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(canonicalIp('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIp('2001:db8:1:2:3:4:0:5')).toBe('2001:db8:1:2:3:4:0:5');
    expect(formatIp(6, 0n)).toBe('::');
    expect(formatIp(4, 0xc6120001n)).toBe('198.18.0.1');
  });
});

describe('AddressPool', () => {
  it('walks singles, ranges and CIDRs in entry order without expanding them', () => {
    const pool = AddressPool.parse(4, ['198.18.0.10', '198.18.1.0-198.18.1.3', '198.19.0.0/30']);
    expect(pool.size).toBe(9n);
    expect([0n, 1n, 4n, 5n, 8n, 9n].map((i) => pool.at(i))).toEqual([
      '198.18.0.10',
      '198.18.1.0',
      '198.18.1.3',
      '198.19.0.0',
      '198.19.0.3',
      null,
    ]);
    expect(pool.indexOf('198.18.1.2')).toBe(3n);
    expect(pool.indexOf('198.18.1.4')).toBe(-1n);
  });

  it('handles a /64 lazily', () => {
    const pool = AddressPool.parse(6, ['fd00:1::/64']);
    expect(pool.size).toBe(1n << 64n);
    expect(pool.at((1n << 64n) - 1n)).toBe('fd00:1::ffff:ffff:ffff:ffff');
    expect(pool.indexOf('fd00:1::1:0')).toBe(0x10000n);
  });

  it('reports bad entries instead of throwing', () => {
    const pool = AddressPool.parse(4, ['fd00::1', '10.0.0.5-10.0.0.1', '10.0.0.0/33', 'x', '192.0.2.1']);
    expect(pool.problems.map((p) => p.index)).toEqual([0, 1, 2, 3]);
    expect(pool.size).toBe(1n);
  });
});
