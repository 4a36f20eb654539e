// SNAT sources from endpoint slices (AgentView.policyAddresses): a gateway node knows the pods of
// other nodes only through them; its own pods count at once.
import type { EgressGateway, EgressPolicy, EgressTunnel } from '@egressgateway/crds';
import { describe, expect, it } from 'vitest';
import { type AgentView, desiredNodeState } from './desired.js';

const tunnel = (name: string, i: number): EgressTunnel => ({
  metadata: { name },
  status: {
    mark: `0x2600001${i}`,
    tunnel: {
      mac: `66:00:00:00:00:0${i}`,
      ipv4: `198.19.255.${i}`,
      parent: { name: 'eth0', ipv4: `198.18.0.${i}` },
    },
  },
});
const gateway: EgressGateway = {
  metadata: { name: 'egw1' },
  spec: { ippools: { ipv4: ['198.18.0.50'] }, nodeSelector: { selector: { matchLabels: {} } } },
  status: {
    nodeList: [
      {
        name: 'gw1',
        status: 'Ready',
        eips: [{ ipv4: '198.18.0.50', policies: [{ name: 'p1', namespace: 'default' }] }],
      },
      { name: 'gw2', status: 'Ready' },
    ],
  },
};
const policy: EgressPolicy = {
  metadata: { name: 'p1', namespace: 'default' },
  spec: { egressGatewayName: 'egw1', appliedTo: { podSelector: { matchLabels: { app: 'web' } } } },
};
const view = (nodeName: string, sliceAddresses: Record<string, string[]>): AgentView => ({
  nodeName,
  egressInterface: 'eth0',
  tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, ipv4Cidr: '198.19.255.0/24' },
  tunnels: [tunnel('gw1', 1), tunnel('gw2', 2)],
  gateways: [gateway],
  policies: [policy],
  clusterPolicies: [],
  // The agent's pod cache: this node's pods only.
  pods: [
    {
      metadata: { name: 'local', namespace: 'default', labels: { app: 'web' } },
      spec: { nodeName },
      status: { podIP: '198.19.9.9' },
    },
  ],
  policyAddresses: (key) => sliceAddresses[key] ?? [],
  namespaceLabels: {},
  fenced: false,
});

describe('desiredNodeState with endpoint slices', () => {
  it('the holder SNATs the slice addresses and its own pods, per family, ignoring what is no address', () => {
    const s = desiredNodeState(
      view('gw1', { 'default/p1': ['198.19.2.2', 'fd00:19::2', 'not-an-ip', '198.19.1.2', '198.19.9.9'] }),
    );
    expect(s.snat).toEqual([
      {
        id: 'default/p1',
        sources: ['198.19.1.2', '198.19.2.2', '198.19.9.9'],
        destinations: 'all',
        eip: '198.18.0.50',
      },
    ]);
  });

  it('a backup gateway node SNATs the same sources before the EIP moves to it', () => {
    const s = desiredNodeState(view('gw2', { 'default/p1': ['198.19.2.2'] }));
    expect(s.snat.map((r) => r.sources)).toEqual([['198.19.2.2', '198.19.9.9']]);
    // Its own pod is steered to the holder (from the local pod cache, not from slices).
    expect(s.steering.map((r) => r.sources)).toEqual([['198.19.9.9']]);
  });

  it('a policy without slices SNATs only the local pods', () => {
    const s = desiredNodeState(view('gw1', {}));
    expect(s.snat.map((r) => r.sources)).toEqual([['198.19.9.9']]);
  });
});
