import type { EgressGateway, EgressPolicy, EgressTunnel } from '@egressgateway/crds';
import { validateState } from '@egressgateway/datapath';
import { podView } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { type AgentView, clusterBypass, desiredNodeState, markTables, type PodLike } from './desired.js';

const tunnel = (name: string, i: number, mark: string): EgressTunnel => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressTunnel',
  metadata: { name },
  status: {
    mark,
    phase: 'Ready',
    tunnel: {
      mac: `66:00:00:00:00:0${i}`,
      ipv4: `198.19.255.${i}`,
      ipv6: `fd00:ff::${i}`,
      parent: { name: 'eth0', ipv4: `198.18.0.${i}` },
    },
  },
});

const gw = (holder: string): EgressGateway => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name: 'egw1' },
  spec: {
    ippools: { ipv4: ['198.18.0.50'], ipv6: ['fd00:18::50'] },
    nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
  },
  status: {
    nodeList: [
      {
        name: holder,
        status: 'Ready',
        eips: [
          { ipv4: '198.18.0.50', ipv6: 'fd00:18::50', policies: [{ name: 'p1', namespace: 'default' }] },
        ],
      },
      { name: holder === 'gw1' ? 'gw2' : 'gw1', status: 'Ready' },
    ],
  },
});

const policy: EgressPolicy = {
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressPolicy',
  metadata: { name: 'p1', namespace: 'default' },
  spec: {
    egressGatewayName: 'egw1',
    appliedTo: { podSelector: { matchLabels: { app: 'web' } } },
    destSubnet: ['198.18.0.100/32'],
  },
};

const pods: PodLike[] = [
  {
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'wk' },
    status: { podIPs: [{ ip: '198.19.1.2' }, { ip: 'fd00:19:1::2' }] },
  },
  {
    metadata: { name: 'web-2', namespace: 'other', labels: { app: 'web' } },
    spec: { nodeName: 'wk' },
    status: { podIP: '198.19.1.3' },
  },
  {
    metadata: { name: 'db', namespace: 'default', labels: { app: 'db' } },
    spec: { nodeName: 'wk' },
    status: { podIP: '198.19.1.4' },
  },
];

const view = (nodeName: string, holder = 'gw1', fenced = false): AgentView => ({
  nodeName,
  egressInterface: 'eth0',
  tunnel: {
    name: 'egress.vxlan',
    vni: 100,
    port: 7789,
    ipv4Cidr: '198.19.255.0/24',
    ipv6Cidr: 'fd00:ff::/64',
  },
  tunnels: [tunnel('gw1', 1, '0x26000011'), tunnel('gw2', 2, '0x26000012'), tunnel('wk', 3, '0x26000013')],
  gateways: [gw(holder)],
  policies: [policy],
  clusterPolicies: [],
  pods,
  namespaceLabels: {},
  fenced,
});

describe('desiredNodeState', () => {
  it('worker: steers its selected pods to the holder, routes every peer mark, binds nothing', () => {
    const s = desiredNodeState(view('wk'));
    expect(() => validateState(s)).not.toThrow();
    expect(s.eips).toEqual([]);
    expect(s.snat).toEqual([]);
    expect(s.steering).toEqual([
      {
        id: 'default/p1',
        sources: ['198.19.1.2', 'fd00:19:1::2'],
        destinations: ['198.18.0.100/32'],
        mark: 0x26000011,
      },
    ]);
    expect(s.markRoutes.map((r) => [r.nodeName, r.table])).toEqual([
      ['gw1', 1000 + (0x26000011 % 1000)],
      ['gw2', 1000 + (0x26000012 % 1000)],
    ]);
    expect(s.tunnel).toMatchObject({
      name: 'egress.vxlan',
      localUnderlay: '198.18.0.3',
      ipv4: '198.19.255.3/24',
      ipv6: 'fd00:ff::3/64',
    });
    expect(s.tunnel?.peers.map((p) => p.nodeName)).toEqual(['gw1', 'gw2']);
  });

  it('holder: SNATs the policy traffic per family and binds the EIP pair', () => {
    const s = desiredNodeState(view('gw1'));
    expect(() => validateState(s)).not.toThrow();
    expect(s.eips).toEqual(['198.18.0.50', 'fd00:18::50']);
    expect(s.snat).toEqual([
      { id: 'default/p1', sources: ['198.19.1.2'], destinations: ['198.18.0.100/32'], eip: '198.18.0.50' },
    ]);
    expect(s.steering).toEqual([]);
  });

  it('pods that ran to completion match nothing: their addresses may already belong to other pods', () => {
    const done = (phase: string, ip: string): PodLike => ({
      metadata: { name: `job-${phase}`, namespace: 'default', labels: { app: 'web' } },
      spec: { nodeName: 'wk' },
      status: { phase, podIP: ip },
    });
    const v = {
      ...view('gw1'),
      pods: [...pods, done('Succeeded', '198.19.1.8'), done('Failed', '198.19.1.9')],
    };
    expect(desiredNodeState(v).snat[0]?.sources).toEqual(['198.19.1.2']);
    expect(desiredNodeState({ ...v, nodeName: 'wk' }).steering[0]?.sources).toEqual([
      '198.19.1.2',
      'fd00:19:1::2',
    ]);
    const running = { ...v, pods: [...pods, done('Running', '198.19.1.8')] };
    expect(desiredNodeState(running).snat[0]?.sources).toEqual(['198.19.1.2', '198.19.1.8']);
  });

  it('the other gateway holds nothing; after a move the roles swap from the same object', () => {
    const standby = desiredNodeState(view('gw2'));
    expect(standby.eips).toEqual([]);
    // SNAT is ready on every gateway node before the EIP moves there (no un-NATed first packet).
    expect(standby.snat).toEqual([
      { id: 'default/p1', sources: ['198.19.1.2'], destinations: ['198.18.0.100/32'], eip: '198.18.0.50' },
    ]);
    expect(desiredNodeState(view('wk')).snat).toEqual([]);
    const moved = desiredNodeState(view('gw2', 'gw2'));
    expect(moved.eips).toEqual(['198.18.0.50', 'fd00:18::50']);
    expect(desiredNodeState(view('gw1', 'gw2')).eips).toEqual([]);
    expect(desiredNodeState(view('wk', 'gw2')).steering[0]?.mark).toBe(0x26000012);
  });

  it('fenced: keeps SNAT and steering but binds no EIP', () => {
    const s = desiredNodeState(view('gw1', 'gw1', true));
    expect(s.eips).toEqual([]);
    expect(s.snat).toHaveLength(1);
  });

  it('never steers in-cluster destinations from the EgressClusterInfo', () => {
    const bypass = clusterBypass({
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressClusterInfo',
      metadata: { name: 'default' },
      spec: { extraCidr: ['198.51.100.0/24'] },
      status: {
        podCIDR: { calico: { ipv4: ['198.19.0.0/16'] } },
        clusterIP: { ipv4: ['198.18.128.0/20'] },
        nodeIP: { wk: { ipv4: ['198.18.0.3'] } },
      },
    });
    expect(bypass).toEqual(['198.18.0.3', '198.18.128.0/20', '198.19.0.0/16', '198.51.100.0/24']);
    const s = desiredNodeState({ ...view('wk'), bypassDestinations: bypass });
    expect(s.bypassDestinations).toEqual(bypass);
    expect(() => validateState(s)).not.toThrow();
    expect(clusterBypass(undefined)).toEqual([]);
  });

  it('gives peers stable routing tables that do not collide', () => {
    // Three marks that share a slot (mark mod 1000) get three tables.
    const t = markTables([0x26000011, 0x26000011 + 1000, 0x26000011 + 2000]);
    expect(new Set(t.values()).size).toBe(3);
    expect(markTables([0x26000011]).get(0x26000011)).toBe(t.get(0x26000011));
  });
});

describe('the pod view (@egressgateway/kube) in the datapath', () => {
  const full = {
    metadata: {
      name: 'web',
      namespace: 'default',
      labels: { app: 'web' },
      resourceVersion: '7',
      uid: 'u',
      annotations: { big: 'x'.repeat(100) },
    },
    spec: { nodeName: 'wk', containers: [{ name: 'c', image: 'x', env: [{ name: 'A', value: 'B' }] }] },
    status: {
      phase: 'Running',
      podIP: '198.19.1.2',
      podIPs: [{ ip: '198.19.1.2' }, { ip: 'fd00:19::2' }],
      containerStatuses: [{ name: 'c', ready: true, restartCount: 0 }],
    },
  };

  it('gives the same datapath as the full object', () => {
    const holder: AgentView = { ...view('gw1'), pods: [full as PodLike] };
    const fromFull = desiredNodeState(holder);
    expect(fromFull.snat.flatMap((r) => r.sources)).toEqual(['198.19.1.2']);
    expect(desiredNodeState({ ...holder, pods: [podView(full as PodLike)] })).toEqual(fromFull);
  });
});
