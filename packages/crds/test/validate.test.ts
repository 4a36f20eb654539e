import { describe, expect, it } from 'vitest';
import {
  type EgressGateway,
  type EgressObject,
  type EgressPolicy,
  validateAcrossObjects,
  validateResource,
  validateUpdate,
} from '../src/index.js';

const gateway = (): EgressGateway => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name: 'egw1' },
  spec: {
    ippools: {
      ipv4: ['198.18.0.10', '198.18.0.20-198.18.0.22'],
      ipv6: ['fd00::10', 'fd00::20-fd00::22'],
      ipv4DefaultEIP: '198.18.0.10',
      ipv6DefaultEIP: 'fd00::10',
    },
    nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
  },
});

const policy = (): EgressPolicy => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressPolicy',
  metadata: { name: 'policy1', namespace: 'default' },
  spec: {
    egressGatewayName: 'egw1',
    egressIP: { ipv4: '198.18.0.21', ipv6: 'fd00::21' },
    appliedTo: { podSelector: { matchLabels: { app: 'web' } } },
    destSubnet: ['203.0.113.0/24'],
  },
});

const tunnel = () => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressTunnel',
  metadata: { name: 'node1' },
  spec: {},
  status: {
    mark: '0x26d9b723',
    phase: 'Ready',
    lastHeartbeatTime: '2026-11-25T12:00:00.123Z',
    tunnel: { mac: '66:50:85:cb:b2:bf', ipv4: '198.19.255.1', ipv6: 'fd00:ff::1' },
  },
});

type Any = any;
const edit =
  <T>(make: () => T, f: (o: Any) => void) =>
  () => {
    const o = make() as Any;
    f(o);
    return o;
  };

const BAD: Array<[string, () => unknown, string]> = [
  ['not an object', () => 'egw1', ''],
  ['unknown kind', edit(gateway, (o) => (o.kind = 'EgressGatway')), 'kind'],
  ['wrong apiVersion', edit(gateway, (o) => (o.apiVersion = 'egressgateway.spidernet.io/v1')), 'apiVersion'],
  ['missing name', edit(gateway, (o) => delete o.metadata.name), 'metadata.name'],
  ['upper-case name', edit(gateway, (o) => (o.metadata.name = 'EGW1')), 'metadata.name'],
  [
    'namespace on a cluster-scoped kind',
    edit(gateway, (o) => (o.metadata.namespace = 'default')),
    'metadata.namespace',
  ],
  ['unknown spec field', edit(gateway, (o) => (o.spec.ipPools = {})), 'spec.ipPools'],
  [
    'unknown nested field',
    edit(gateway, (o) => (o.spec.ippools.ipv4Default = '198.18.0.10')),
    'spec.ippools.ipv4Default',
  ],
  [
    'missing selector',
    edit(gateway, (o) => delete o.spec.nodeSelector.selector),
    'spec.nodeSelector.selector',
  ],
  ['missing nodeSelector', edit(gateway, (o) => delete o.spec.nodeSelector), 'spec.nodeSelector'],
  ['missing spec', edit(gateway, (o) => delete o.spec), 'spec'],
  [
    'clusterDefault not a boolean',
    edit(gateway, (o) => (o.spec.clusterDefault = 'yes')),
    'spec.clusterDefault',
  ],
  [
    'malformed pool address',
    edit(gateway, (o) => (o.spec.ippools.ipv4[0] = '198.18.0.300')),
    'spec.ippools.ipv4[0]',
  ],
  [
    'IPv6 address in the IPv4 pool',
    edit(gateway, (o) => o.spec.ippools.ipv4.push('fd00::99')),
    'spec.ippools.ipv4[2]',
  ],
  [
    'backwards range',
    edit(gateway, (o) => (o.spec.ippools.ipv4[1] = '198.18.0.22-198.18.0.20')),
    'spec.ippools.ipv4[1]',
  ],
  [
    'range mixing families',
    edit(gateway, (o) => (o.spec.ippools.ipv4[1] = '198.18.0.20-fd00::1')),
    'spec.ippools.ipv4[1]',
  ],
  [
    'CIDR prefix too long',
    edit(gateway, (o) => o.spec.ippools.ipv4.push('198.18.1.0/33')),
    'spec.ippools.ipv4[2]',
  ],
  // Issue 19: upstream refuses a blank entry and `a - b` with spaces (we skipped and trimmed them).
  ['blank pool entry', edit(gateway, (o) => o.spec.ippools.ipv4.push('')), 'spec.ippools.ipv4[2]'],
  [
    'range with spaces',
    edit(gateway, (o) => o.spec.ippools.ipv6.push('fd00::30 - fd00::31')),
    'spec.ippools.ipv6[2]',
  ],
  [
    'default EIP = network address of a CIDR, which the pool leaves out',
    edit(gateway, (o) => {
      o.spec.ippools.ipv4 = ['198.18.1.0/30', '198.18.0.21-198.18.0.22'];
      o.spec.ippools.ipv4DefaultEIP = '198.18.1.0';
    }),
    'spec.ippools.ipv4DefaultEIP',
  ],
  [
    'default EIP not in pool',
    edit(gateway, (o) => (o.spec.ippools.ipv4DefaultEIP = '198.18.0.11')),
    'spec.ippools.ipv4DefaultEIP',
  ],
  [
    'default EIP of the wrong family',
    edit(gateway, (o) => (o.spec.ippools.ipv6DefaultEIP = '198.18.0.10')),
    'spec.ippools.ipv6DefaultEIP',
  ],
  ['unequal dual-stack pools', edit(gateway, (o) => o.spec.ippools.ipv6.push('fd00::30')), 'spec.ippools'],
  [
    'bad label key in selector',
    edit(gateway, (o) => (o.spec.nodeSelector.selector.matchLabels = { '-egress': 'true' })),
    'spec.nodeSelector.selector.matchLabels[-egress]',
  ],
  [
    'bad label value in selector',
    edit(gateway, (o) => (o.spec.nodeSelector.selector.matchLabels = { egress: 'tr ue' })),
    'spec.nodeSelector.selector.matchLabels[egress]',
  ],
  [
    'bad selector operator',
    edit(
      gateway,
      (o) =>
        (o.spec.nodeSelector.selector.matchExpressions = [
          { key: 'egress', operator: 'Equals', values: ['a'] },
        ]),
    ),
    'spec.nodeSelector.selector.matchExpressions[0].operator',
  ],
  [
    'In without values',
    edit(
      gateway,
      (o) => (o.spec.nodeSelector.selector.matchExpressions = [{ key: 'egress', operator: 'In' }]),
    ),
    'spec.nodeSelector.selector.matchExpressions[0].values',
  ],
  [
    'Exists with values',
    edit(
      gateway,
      (o) =>
        (o.spec.nodeSelector.selector.matchExpressions = [
          { key: 'egress', operator: 'Exists', values: ['x'] },
        ]),
    ),
    'spec.nodeSelector.selector.matchExpressions[0].values',
  ],
  [
    'podSelector and podSubnet both set',
    edit(policy, (o) => (o.spec.appliedTo.podSubnet = ['198.19.1.0/24'])),
    'spec.appliedTo',
  ],
  ['neither podSelector nor podSubnet', edit(policy, (o) => (o.spec.appliedTo = {})), 'spec.appliedTo'],
  [
    'useNodeIP with an explicit IP',
    edit(policy, (o) => (o.spec.egressIP.useNodeIP = true)),
    'spec.egressIP.ipv4',
  ],
  [
    'policy EIP of the wrong family',
    edit(policy, (o) => (o.spec.egressIP.ipv4 = 'fd00::21')),
    'spec.egressIP.ipv4',
  ],
  [
    'bad allocator policy',
    edit(policy, (o) => (o.spec.egressIP.allocatorPolicy = 'random')),
    'spec.egressIP.allocatorPolicy',
  ],
  ['malformed destSubnet', edit(policy, (o) => (o.spec.destSubnet = ['203.0.113.0'])), 'spec.destSubnet[0]'],
  [
    'malformed podSubnet',
    edit(policy, (o) => (o.spec.appliedTo = { podSubnet: ['198.19.1.0/40'] })),
    'spec.appliedTo.podSubnet[0]',
  ],
  ['missing appliedTo', edit(policy, (o) => delete o.spec.appliedTo), 'spec.appliedTo'],
  [
    'namespaceSelector on a namespaced policy',
    edit(policy, (o) => (o.spec.appliedTo.namespaceSelector = {})),
    'spec.appliedTo.namespaceSelector',
  ],
  ['bad mark', edit(tunnel, (o) => (o.status.mark = '0x12345678')), 'status.mark'],
  ['bad phase', edit(tunnel, (o) => (o.status.phase = 'Up')), 'status.phase'],
  [
    'bad heartbeat time',
    edit(tunnel, (o) => (o.status.lastHeartbeatTime = 'yesterday')),
    'status.lastHeartbeatTime',
  ],
  ['bad tunnel MAC', edit(tunnel, (o) => (o.status.tunnel.mac = '66:50:85:cb:b2')), 'status.tunnel.mac'],
  [
    'tunnel IPv4 of the wrong family',
    edit(tunnel, (o) => (o.status.tunnel.ipv4 = 'fd00::1')),
    'status.tunnel.ipv4',
  ],
  ['non-empty tunnel spec', edit(tunnel, (o) => (o.spec = { x: 1 })), 'spec.x'],
  [
    'cluster info not named default',
    () => ({
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressClusterInfo',
      metadata: { name: 'info' },
      spec: {},
    }),
    'metadata.name',
  ],
];

describe('validateResource rejects bad objects with the field path', () => {
  it('has at least 25 cases', () => expect(BAD.length).toBeGreaterThanOrEqual(25));
  it.each(BAD)('%s -> %s', (_name, make, path) => {
    const r = validateResource(make());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.path)).toContain(path);
    for (const e of r.errors) expect(e.message.length).toBeGreaterThan(10);
  });

  it('accepts the good base objects', () => {
    for (const o of [gateway(), policy(), tunnel()]) expect(validateResource(o)).toMatchObject({ ok: true });
  });

  // Issue 19: a blank list entry is refused now (upstream's webhook refuses it); an empty list and
  // an empty default EIP field are still no pool and no default.
  it('refuses a blank pool entry but accepts an empty pool and an empty default EIP field', () => {
    const g = gateway();
    g.spec!.ippools = {
      ipv4: ['198.18.0.10'],
      ipv6: [''],
      ipv4DefaultEIP: '198.18.0.10',
      ipv6DefaultEIP: '',
    };
    expect(validateResource(g)).toMatchObject({ ok: false, errors: [{ path: 'spec.ippools.ipv6[0]' }] });
    g.spec!.ippools = { ipv4: ['198.18.0.10'], ipv6: [], ipv4DefaultEIP: '198.18.0.10', ipv6DefaultEIP: '' };
    expect(validateResource(g)).toMatchObject({ ok: true });
  });

  // Issue 19: these were refused (our stricter reading); upstream masks host bits and merges
  // repeated or overlapping entries, and the sizes compared for dual stack are the merged ones.
  it('accepts host-bit CIDRs and overlapping entries as upstream does, comparing merged sizes', () => {
    const g = gateway();
    g.spec!.ippools = {
      ipv4: ['198.18.1.1/29', '198.18.1.5-198.18.1.6', '198.18.1.3'], // 198.18.1.1-198.18.1.6: 6
      ipv6: ['fd00::10-fd00::14', 'fd00::12/127', 'fd00::15'], // fd00::10-fd00::15: 6
      ipv4DefaultEIP: '198.18.1.6',
      ipv6DefaultEIP: 'fd00::15',
    };
    expect(validateResource(g)).toMatchObject({ ok: true });
    g.spec!.ippools.ipv6 = ['fd00::10-fd00::14', 'fd00::12/127', 'fd00::16']; // 6 distinct, without fd00::15
    expect(validateResource(g)).toMatchObject({
      ok: false,
      errors: [{ path: 'spec.ippools.ipv6DefaultEIP' }],
    });
    g.spec!.ippools.ipv6 = ['fd00::10-fd00::14', 'fd00::12/127']; // 5 distinct
    g.spec!.ippools.ipv6DefaultEIP = 'fd00::14';
    expect(validateResource(g)).toMatchObject({
      ok: false,
      errors: [
        { path: 'spec.ippools', message: expect.stringContaining('ipv4 has 6 addresses, ipv6 has 5') },
      ],
    });
  });

  it('a /30 holds 2 addresses for the dual-stack size check (upstream counts it so)', () => {
    const g = gateway();
    g.spec!.ippools = { ipv4: ['198.18.1.0/30'], ipv6: ['fd00::1-fd00::2'] };
    expect(validateResource(g)).toMatchObject({ ok: true });
    g.spec!.ippools = { ipv4: ['198.18.1.0/30'], ipv6: ['fd00::/126'] };
    expect(validateResource(g)).toMatchObject({
      ok: false,
      errors: [
        { path: 'spec.ippools', message: expect.stringContaining('ipv4 has 2 addresses, ipv6 has 4') },
      ],
    });
  });

  it('says how to fix a default EIP outside the pool', () => {
    const g = gateway();
    g.spec!.ippools!.ipv4DefaultEIP = '198.18.0.11';
    const r = validateResource(g);
    expect(r.ok ? [] : r.errors).toEqual([
      {
        path: 'spec.ippools.ipv4DefaultEIP',
        message: '198.18.0.11 is not in spec.ippools.ipv4: add it to the pool or choose an address from it',
      },
    ]);
  });
});

describe('validateUpdate', () => {
  it('keeps policy gateway and EIP settings immutable', () => {
    const before = policy();
    const after = policy();
    after.spec!.egressGatewayName = 'egw2';
    after.spec!.egressIP = { ipv4: '198.18.0.22', ipv6: 'fd00::21' };
    const r = validateUpdate(before, after);
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(['spec.egressGatewayName', 'spec.egressIP.ipv4']);
  });

  it('accepts a policy update that changes only mutable fields', () => {
    const after = policy();
    after.spec!.destSubnet = ['198.51.100.0/24'];
    after.spec!.egressIP!.ipv6 = 'fd00:0::21'; // same address, other spelling
    expect(validateUpdate(policy(), after)).toMatchObject({ ok: true });
  });

  it('refuses to drop an EIP that is in use from the pool', () => {
    const before = gateway();
    before.status = {
      nodeList: [
        {
          name: 'node1',
          eips: [
            { ipv4: '198.18.0.21', ipv6: 'fd00::21', policies: [{ name: 'policy1', namespace: 'default' }] },
          ],
        },
      ],
    };
    const after = gateway();
    after.spec!.ippools = { ipv4: ['198.18.0.10', '198.18.0.20'], ipv6: ['fd00::10', 'fd00::20'] };
    const r = validateUpdate(before, after);
    expect(r.ok ? [] : r.errors.map((e) => e.path)).toEqual(['spec.ippools.ipv4', 'spec.ippools.ipv6']);
    expect(r.ok ? '' : r.errors[0]?.message).toContain('default/policy1');
  });

  it('allows removing an address no policy uses', () => {
    const after = gateway();
    after.spec!.ippools = { ipv4: ['198.18.0.10', '198.18.0.20'], ipv6: ['fd00::10', 'fd00::20'] };
    expect(validateUpdate(gateway(), after)).toMatchObject({ ok: true });
  });
});

describe('validateAcrossObjects', () => {
  const gw2 = (): EgressGateway => {
    const g = gateway();
    g.metadata = { name: 'egw2' };
    g.spec!.ippools = { ipv4: ['198.18.1.0/30'] };
    return g;
  };

  it('finds nothing wrong in a consistent set', () => {
    expect(validateAcrossObjects([gateway(), gw2(), policy()])).toEqual([]);
  });

  // Issue 19: a CIDR's IPv4 network and broadcast addresses are not in its pool, so another gateway
  // may list them; its usable addresses still belong to one gateway only.
  it('compares gateways on the addresses their pools hold, without network and broadcast', () => {
    const g = gateway();
    g.spec!.ippools = { ipv4: ['198.18.1.0', '198.18.1.3'], ipv4DefaultEIP: '198.18.1.0' };
    expect(validateAcrossObjects([g, gw2()])).toEqual([]);
    g.spec!.ippools.ipv4 = ['198.18.1.0', '198.18.1.2'];
    expect(validateAcrossObjects([g, gw2()])).toMatchObject([
      { path: 'spec.ippools.ipv4', message: expect.stringContaining('198.18.1.2 is also in the pool') },
    ]);
  });

  it('reports an address in two gateways pools, on the later gateway', () => {
    const b = gw2();
    b.spec!.ippools = { ipv4: ['198.18.0.8/30'] };
    expect(validateAcrossObjects([gateway(), b])).toEqual([
      expect.objectContaining({ object: 'EgressGateway/egw2', path: 'spec.ippools.ipv4' }),
    ]);
  });

  it('reports more than one cluster-default gateway', () => {
    const a = gateway();
    a.spec!.clusterDefault = true;
    const b = gw2();
    b.spec!.clusterDefault = true;
    expect(validateAcrossObjects([b, a])).toEqual([
      expect.objectContaining({ object: 'EgressGateway/egw2', path: 'spec.clusterDefault' }),
    ]);
  });

  it('reports a policy naming an unknown gateway and an EIP outside its gateway pool', () => {
    const unknown = policy();
    unknown.spec!.egressGatewayName = 'nope';
    const outside = policy();
    outside.metadata = { name: 'p2', namespace: 'prod' };
    outside.spec!.egressIP = { ipv4: '198.18.0.99' };
    const objs: EgressObject[] = [gateway(), unknown, outside];
    expect(validateAcrossObjects(objs)).toEqual([
      expect.objectContaining({ object: 'EgressPolicy/default/policy1', path: 'spec.egressGatewayName' }),
      expect.objectContaining({ object: 'EgressPolicy/prod/p2', path: 'spec.egressIP.ipv4' }),
    ]);
  });
});
