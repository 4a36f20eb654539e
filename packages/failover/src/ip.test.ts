import { describe, expect, it } from 'vitest';
import { applyEgressChanges } from './egress/apply-changes.js';
import { reconcileEgress } from './egress/reconcile.js';
import type { EgressState } from './egress/types.js';
import { AddressPool } from './pool.js';
import { makeGateway, makeNode, makePolicy, makeTunnel } from './testing/builders.js';

// Addresses and pools are parsed by @egressgateway/netaddr (tested there); these tests pin how the
// engine reads them: the AddressPool view it walks, and what it does with an address Kubernetes
// would refuse (issue 17: the engine trimmed " 198.18.0.11" where admission refused it).

describe('AddressPool (the engine view of a netaddr pool)', () => {
  it('walks singles, ranges and CIDRs in entry order without expanding them', () => {
    // Issue 19: the /29 holds 198.19.0.1-198.19.0.6 (upstream leaves out network and broadcast).
    const pool = AddressPool.parse(4, ['198.18.0.10', '198.18.1.0-198.18.1.3', '198.19.0.0/29']);
    expect(pool.size).toBe(11n);
    expect([0n, 1n, 4n, 5n, 10n, 11n].map((i) => pool.at(i))).toEqual([
      '198.18.0.10',
      '198.18.1.0',
      '198.18.1.3',
      '198.19.0.1',
      '198.19.0.6',
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

  it('reports bad entries instead of throwing, as the engine always read pools', () => {
    const pool = AddressPool.parse(4, ['fd00::1', '10.0.0.5-10.0.0.1', '10.0.0.0/33', 'x', '', '192.0.2.1']);
    expect(pool.problems.map((p) => p.index)).toEqual([0, 1, 2, 3, 4]);
    expect(pool.size).toBe(1n);
    // A CIDR with host bits is read as its network, without network and broadcast (issue 19).
    expect(AddressPool.parse(4, ['10.6.1.70/28']).at(0n)).toBe('10.6.1.65');
    expect(AddressPool.parse(4, ['10.6.1.70/28']).size).toBe(14n);
    // Overlapping entries merge: size is the distinct count and positions never repeat an address.
    const merged = AddressPool.parse(4, ['192.0.2.1-192.0.2.4', '192.0.2.3-192.0.2.6', '192.0.2.1']);
    expect(merged.size).toBe(6n);
    expect([0n, 3n, 4n, 5n].map((i) => merged.at(i))).toEqual([
      '192.0.2.1',
      '192.0.2.4',
      '192.0.2.5',
      '192.0.2.6',
    ]);
  });

  it('does not find an address with a zone or surrounding whitespace', () => {
    const pool = AddressPool.parse(6, ['fd00:18::10-fd00:18::13']);
    expect(pool.indexOf('fd00:18::11')).toBe(1n);
    expect(pool.indexOf('fd00:18::11%eth0')).toBe(-1n);
    expect(pool.indexOf(' fd00:18::11')).toBe(-1n);
  });
});

describe('reconcileEgress: an explicit EIP Kubernetes would refuse is not honoured', () => {
  const NOW = 100_000;
  const state = (ipv4?: string, ipv6?: string): EgressState => ({
    gateways: [
      makeGateway('gw', {
        ipv4: ['198.18.0.10-198.18.0.13'],
        ipv6: ['fd00:18::10-fd00:18::13'],
        ipv4DefaultEIP: '198.18.0.10',
      }),
    ],
    nodes: [makeNode('n1')],
    tunnels: [makeTunnel('n1', NOW - 500)],
    policies: [
      makePolicy('ns', 'p', {
        gateway: 'gw',
        ...(ipv4 !== undefined ? { ipv4 } : {}),
        ...(ipv6 !== undefined ? { ipv6 } : {}),
      }),
    ],
    clusterPolicies: [],
  });

  it('a well-formed explicit EIP is assigned (control)', () => {
    const changes = reconcileEgress(state('198.18.0.11'), { evictionTimeoutMs: 3_000 }, NOW);
    expect(changes.policies.map((p) => p.status.eip)).toEqual([{ ipv4: '198.18.0.11', ipv6: 'fd00:18::11' }]);
  });

  for (const [ipv4, ipv6] of [
    [' 198.18.0.11', undefined],
    ['198.18.0.11\t', undefined],
    [undefined, 'fd00:18::11%eth0'],
    [undefined, ' fd00:18::11'],
  ] as const) {
    it(`${JSON.stringify(ipv4 ?? ipv6)} is reported as EIPNotInPool and nothing is assigned`, () => {
      const s = state(ipv4, ipv6);
      const changes = reconcileEgress(s, { evictionTimeoutMs: 3_000 }, NOW);
      expect(changes.policies).toEqual([]);
      expect(changes.problems.map((p) => p.reason)).toContain('EIPNotInPool');
      // Nothing moves once written either.
      const again = reconcileEgress(applyEgressChanges(s, changes), { evictionTimeoutMs: 3_000 }, NOW);
      expect(again.policies).toEqual([]);
    });
  }
});
