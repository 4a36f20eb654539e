import { describe, expect, it } from 'vitest';
import { detectClusterInfo } from './cluster-info.js';
import type { NodeView } from './nodes.js';

const node = (name: string, addresses: string[], podCIDRs?: string[]): NodeView => ({
  metadata: { name },
  ...(podCIDRs ? { spec: { podCIDRs } } : {}),
  status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) },
});

const nodes = [
  node('node1', ['198.18.0.11', 'fd00::11'], ['198.18.64.0/24', 'fd00:64::/64']),
  node('node2', ['198.18.0.12'], ['198.18.65.0/24']),
];

describe('detectClusterInfo', () => {
  it('auto mode without the Calico API takes pod CIDRs from Node spec.podCIDRs, split by family', () => {
    const d = detectClusterInfo({
      spec: {},
      nodes,
      calicoPools: undefined,
      serviceCidrs: ['198.18.128.0/20'],
    });
    expect(d.status.podCidrMode).toBe('k8s');
    expect(d.status.podCIDR).toEqual({
      k8s: { ipv4: ['198.18.64.0/24', '198.18.65.0/24'], ipv6: ['fd00:64::/64'] },
    });
    expect(d.status.nodeIP).toEqual({
      node1: { ipv4: ['198.18.0.11'], ipv6: ['fd00::11'] },
      node2: { ipv4: ['198.18.0.12'] },
    });
    expect(d.status.clusterIP).toEqual({ ipv4: ['198.18.128.0/20'] });
    expect(d.missing).toEqual([]);
  });

  it('auto mode with the Calico API takes pod CIDRs from the IPPools, one key per pool', () => {
    const d = detectClusterInfo({
      spec: { autoDetect: { podCidrMode: 'auto' } },
      nodes,
      calicoPools: [
        { name: 'default-ipv4-ippool', cidr: '198.18.96.0/19' },
        { name: 'v6', cidr: 'fd00:96::/48' },
      ],
      serviceCidrs: [],
    });
    expect(d.status.podCidrMode).toBe('calico');
    expect(d.status.podCIDR).toEqual({
      'default-ipv4-ippool': { ipv4: ['198.18.96.0/19'] },
      v6: { ipv6: ['fd00:96::/48'] },
    });
  });

  it('calico mode on a cluster without the IPPool API reports the missing source and guesses nothing', () => {
    const d = detectClusterInfo({
      spec: { autoDetect: { podCidrMode: 'calico' } },
      nodes,
      calicoPools: undefined,
      serviceCidrs: [],
    });
    expect(d.status.podCIDR).toBeUndefined();
    expect(d.missing.map((m) => m.source)).toEqual(['calicoIPPools']);
  });

  it('an absent ServiceCIDR API is reported, and the service range is left out rather than guessed', () => {
    const d = detectClusterInfo({ spec: {}, nodes, calicoPools: undefined, serviceCidrs: undefined });
    expect(d.status.clusterIP).toBeUndefined();
    expect(d.missing.map((m) => m.source)).toEqual(['serviceCIDR']);
    expect(d.missing[0]?.message).toMatch(/spec\.extraCidr/);
  });

  it('k8s mode with nodes that have no podCIDRs reports it', () => {
    const d = detectClusterInfo({
      spec: { autoDetect: { podCidrMode: 'k8s' } },
      nodes: [node('n', ['198.18.0.1'])],
      calicoPools: [],
      serviceCidrs: [],
    });
    expect(d.status.podCIDR).toBeUndefined();
    expect(d.missing.map((m) => m.source)).toEqual(['podCIDRs']);
  });

  it('switches off: nodeIP false, clusterIP false and podCidrMode "" detect nothing of theirs; extraCidr is copied', () => {
    const d = detectClusterInfo({
      spec: {
        autoDetect: { podCidrMode: '', nodeIP: false, clusterIP: false },
        extraCidr: ['203.0.113.0/24'],
      },
      nodes,
      calicoPools: undefined,
      serviceCidrs: undefined,
    });
    expect(d.status).toEqual({ podCidrMode: '', extraCidr: ['203.0.113.0/24'] });
    expect(d.missing).toEqual([]);
  });
});
