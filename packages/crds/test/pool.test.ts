import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIp,
  computeIpUsage,
  countPool,
  formatIp,
  iteratePool,
  parseIp,
  poolAddressAt,
  poolContains,
  poolIndexOf,
} from '../src/index.js';

describe('addresses', () => {
  it('parses and formats IPv4 and IPv6 canonically', () => {
    expect(canonicalIp('198.18.0.1')).toBe('198.18.0.1');
    expect(canonicalIp('fd00:0:0::55')).toBe('fd00::55');
    expect(canonicalIp('FD00::1:0:0:0:1')).toBe('fd00:0:0:1::1');
    expect(canonicalIp('::ffff:198.18.0.1')).toBe('::ffff:c612:1');
    expect(canonicalIp('::')).toBe('::');
    expect(canonicalIp('1:0:0:1:0:0:0:1')).toBe('1:0:0:1::1');
    expect(canonicalIp('198.18.0.256')).toBeUndefined();
    expect(canonicalIp('fd00::55%eth0')).toBeUndefined();
  });

  it('round-trips every value: parse(format(v)) = v (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        expect(parseIp(formatIp(6, v))).toEqual({ family: 6, value: v });
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }), (v) => {
        expect(parseIp(formatIp(4, v))).toEqual({ family: 4, value: v });
      }),
    );
  });
});

describe('pools', () => {
  const pool = ['198.18.0.10', '198.18.0.20-198.18.0.22', '198.18.1.0/30'];

  it('counts singles, ranges and CIDRs', () => {
    expect(countPool(pool)).toBe(8n);
    expect(countPool(['198.18.0.10', '', '198.18.0.10'])).toBe(1n);
  });

  it('counts a /64 without expanding it', () => {
    expect(countPool(['fd00::/64'])).toBe(1n << 64n);
  });

  it('answers membership, n-th address and index consistently', () => {
    expect(poolContains(pool, '198.18.1.3')).toBe(true);
    expect(poolContains(pool, '198.18.1.4')).toBe(false);
    expect(poolContains(pool, 'fd00::1')).toBe(false);
    expect(poolAddressAt(pool, 0n)).toBe('198.18.0.10');
    expect(poolAddressAt(pool, 3n)).toBe('198.18.0.22');
    expect(poolAddressAt(pool, 4n)).toBe('198.18.1.0');
    expect(poolAddressAt(pool, 8n)).toBeUndefined();
    for (let n = 0n; n < 8n; n++) expect(poolIndexOf(pool, poolAddressAt(pool, n) ?? '')).toBe(n);
    expect([...iteratePool(pool)]).toHaveLength(8);
  });

  it('pairs the n-th IPv4 with the n-th IPv6 address deep in a huge pool', () => {
    expect(poolAddressAt(['fd00::/64'], 1n << 40n)).toBe('fd00::100:0:0');
  });

  it('computes ipUsage, counting an address once however it is spelled', () => {
    expect(
      computeIpUsage(
        { ipv4: pool, ipv6: ['fd00::10-fd00::17'] },
        { ipv4: ['198.18.0.21', '198.18.0.21', '203.0.113.1'], ipv6: ['fd00::10', 'fd00:0::10'] },
      ),
    ).toEqual({ ipv4Total: 8, ipv4Free: 7, ipv6Total: 8, ipv6Free: 7 });
  });
});
