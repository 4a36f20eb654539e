import type { EgressGateway, EgressTunnel } from '@egressgateway/crds';
import { describe, expect, it } from 'vitest';
import { eipKey, peerGroups, rankMembers } from './peer-groups.js';

const gw = (name: string, nodes: Array<[string, Array<[string, string, number]>]>): EgressGateway =>
  ({
    metadata: { name },
    spec: {},
    status: {
      nodeList: nodes.map(([node, eips]) => ({
        name: node,
        status: 'Ready',
        eips: eips.map(([ipv4, ipv6, policies]) => ({
          ...(ipv4 ? { ipv4 } : {}),
          ...(ipv6 ? { ipv6 } : {}),
          policies: Array.from({ length: policies }, (_, i) => ({ name: `p${i}`, namespace: 'default' })),
        })),
      })),
    },
  }) as unknown as EgressGateway;

const tunnel = (name: string, ipv4?: string, ipv6?: string): EgressTunnel =>
  ({
    metadata: { name },
    status: { tunnel: { parent: { name: 'eth0', ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) } } },
  }) as unknown as EgressTunnel;

describe('rankMembers', () => {
  it('puts the member holding the fewest EIPs first, ties by name, as the failover engine places a new address', () => {
    const held = new Map([
      ['a', 2],
      ['b', 0],
      ['c', 1],
      ['d', 0],
    ]);
    expect(rankMembers('g', ['d', 'c', 'b', 'a'], held)).toEqual(['b', 'd', 'c', 'a']);
    expect(rankMembers('g', ['c', 'a', 'b'], new Map())).toEqual(['a', 'b', 'c']);
  });
});

describe('peerGroups', () => {
  it('lists the gateways the node is a member of, with the EIP pairs in use, the status holders and node addresses', () => {
    const gateways = [
      gw('egw1', [
        ['n1', [['198.51.100.7', 'fd00::7', 1]]],
        ['n2', [['198.51.100.8', '', 2]]],
        ['n3', [['198.51.100.9', '', 0]]], // no policy uses it: not held by anybody
      ]),
      gw('other', [['n4', []]]),
    ];
    const tunnels = [
      tunnel('n1', '198.18.0.1', 'fd00::1'),
      tunnel('n2', '198.18.0.2'),
      tunnel('n3', undefined, 'fd00::3'),
    ];
    const groups = peerGroups('n1', gateways, tunnels);
    expect(groups).toHaveLength(1);
    const g = groups[0];
    expect(g?.name).toBe('egw1');
    // n3 holds nothing, then n1 and n2 hold one each (ties by name).
    expect(g?.members).toEqual(['n3', 'n1', 'n2']);
    expect(g?.eips).toEqual([
      { key: eipKey('198.51.100.7', 'fd00::7'), addresses: ['198.51.100.7', 'fd00::7'] },
      { key: '198.51.100.8/', addresses: ['198.51.100.8'] },
    ]);
    expect(g?.holders).toEqual({ '198.51.100.7/fd00::7': 'n1', '198.51.100.8/': 'n2' });
    // IPv4 where both ends have it, IPv6 otherwise.
    expect([...(g?.addresses ?? [])]).toEqual([
      ['n1', '198.18.0.1'],
      ['n2', '198.18.0.2'],
      ['n3', 'fd00::3'],
    ]);
    // n2 has no IPv6 and n3 no IPv4: they have no common family, so no address for each other.
    expect([...(peerGroups('n2', gateways, tunnels)[0]?.addresses ?? [])].map(([n]) => n)).toEqual([
      'n1',
      'n2',
    ]);
    expect(peerGroups('n9', gateways, tunnels)).toEqual([]);
  });
});
