/**
 * Upstream's admission rules (UPSTREAM-COMPAT.md §3, numbered as there) as table tests: every
 * case names the rule, runs for both IP families where the rule has a family, and states the
 * field path the refusal must carry.
 */
import { describe, expect, it } from 'vitest';
import {
  type EgressClusterPolicy,
  type EgressGateway,
  type EgressObject,
  type EgressPolicy,
  validateAgainstCluster,
  validateFamilies,
  validateResource,
  validateUpdate,
} from '../src/index.js';

type Family = 'ipv4' | 'ipv6';
const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const A = { ipv4: ['198.18.0.10', '198.18.0.20-198.18.0.22'], ipv6: ['fd00::10', 'fd00::20-fd00::22'] };
const B = { ipv4: ['198.18.1.0/30'], ipv6: ['fd00:1::/126'] };
const addr = (f: Family, n: number) => (f === 'ipv4' ? `198.18.0.${n}` : `fd00::${n}`);

const gateway = (name = 'egw1', pools: { ipv4?: string[]; ipv6?: string[] } = A): EgressGateway => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name },
  spec: {
    ippools: {
      ...pools,
      ...(pools === A ? { ipv4DefaultEIP: '198.18.0.10', ipv6DefaultEIP: 'fd00::10' } : {}),
    },
    nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
  },
});

const policy = (egressIP: NonNullable<EgressPolicy['spec']>['egressIP'] = {}) =>
  ({
    apiVersion: 'egressgateway.spidernet.io/v1beta1',
    kind: 'EgressPolicy',
    metadata: { name: 'p1', namespace: 'default' },
    spec: {
      egressGatewayName: 'egw1',
      egressIP,
      appliedTo: { podSelector: { matchLabels: { app: 'web' } } },
    },
  }) as EgressPolicy;

const clusterPolicy = (): EgressClusterPolicy => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressClusterPolicy',
  metadata: { name: 'cp1' },
  spec: { egressGatewayName: 'egw1', appliedTo: { podSubnet: ['198.19.0.0/24'] } },
});

const paths = (errors: readonly { path: string }[]) => errors.map((e) => e.path);

describe('single-object rules (validateResource)', () => {
  const cases: Array<[string, () => unknown, string]> = [
    [
      '#1 egw: nodeSelector.selector {} selects every node',
      () => ({ ...gateway(), spec: { ...gateway().spec, nodeSelector: { selector: {} } } }),
      'spec.nodeSelector.selector',
    ],
    [
      '#1 egw: selector with empty matchLabels and matchExpressions',
      () => ({
        ...gateway(),
        spec: { ...gateway().spec, nodeSelector: { selector: { matchLabels: {}, matchExpressions: [] } } },
      }),
      'spec.nodeSelector.selector',
    ],
    [
      '#19 egp: podSelector {} selects every pod of the namespace',
      () => ({ ...policy(), spec: { ...policy().spec, appliedTo: { podSelector: {} } } }),
      'spec.appliedTo.podSelector',
    ],
    [
      '#19 egcp: podSelector with empty matchLabels selects every pod of the cluster',
      () => ({
        ...clusterPolicy(),
        spec: { ...clusterPolicy().spec, appliedTo: { podSelector: { matchLabels: {} } } },
      }),
      'spec.appliedTo.podSelector',
    ],
  ];
  it.each(cases)('%s -> %s', (_n, make, path) => {
    const r = validateResource(make());
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(paths(r.errors)).toEqual([path]);
      expect(r.errors[0]?.message).toMatch(/: (name|add)/);
    }
  });

  it('accepts selectors with only matchExpressions', () => {
    const g = gateway();
    g.spec!.nodeSelector = { selector: { matchExpressions: [{ key: 'egress', operator: 'Exists' }] } };
    expect(validateResource(g).ok).toBe(true);
    const p = policy();
    p.spec!.appliedTo = {
      podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }] },
    };
    expect(validateResource(p).ok).toBe(true);
  });
});

// #4-#6 as upstream reads pools (issue 19; pkg/utils/ip/ip.go and the gateway webhook W:82-111).
describe.each(FAMILIES)('pool rules #4-#6 (validateResource), %s', (f) => {
  const other: Family = f === 'ipv4' ? 'ipv6' : 'ipv4';
  const withPool = (pool: string[], otherPool: string[] = []) =>
    gateway('egw1', { [f]: pool, [other]: otherPool });
  const refusal = (obj: unknown) => {
    const r = validateResource(obj);
    return r.ok ? [] : paths(r.errors);
  };

  it(`#4 a blank ${f} entry is refused -> spec.ippools.${f}[1]`, () => {
    expect(refusal(withPool([addr(f, 10), '']))).toEqual([`spec.ippools.${f}[1]`]);
  });

  it(`#4 an ${f} range with spaces is refused -> spec.ippools.${f}[0]`, () => {
    expect(refusal(withPool([`${addr(f, 10)} - ${addr(f, 12)}`]))).toEqual([`spec.ippools.${f}[0]`]);
  });

  it(`#4 an ${f} CIDR with host bits is accepted (masked) and overlapping entries merge`, () => {
    const cidr = f === 'ipv4' ? '198.18.0.9/29' : 'fd00::9/125';
    expect(refusal(withPool([cidr, addr(f, 10), `${addr(f, 11)}-${addr(f, 20)}`]))).toEqual([]);
  });

  it(`#6 dual stack compares merged ${f} counts -> spec.ippools`, () => {
    const pairs = [addr(other, 10), addr(other, 11)];
    expect(refusal(withPool([addr(f, 10), addr(f, 11), addr(f, 10)], pairs))).toEqual([]);
    expect(refusal(withPool([addr(f, 10), addr(f, 11), addr(f, 12)], pairs))).toEqual(['spec.ippools']);
  });
});

describe('#5 IPv4 CIDRs exclude network and broadcast (ip.go:490-493)', () => {
  it('a default EIP on the network or broadcast address of a /30 is refused -> spec.ippools.ipv4DefaultEIP', () => {
    for (const eip of ['198.18.1.0', '198.18.1.3']) {
      const g = gateway('egw1', { ipv4: B.ipv4 });
      g.spec!.ippools!.ipv4DefaultEIP = eip;
      const r = validateResource(g);
      expect(r.ok ? [] : paths(r.errors)).toEqual(['spec.ippools.ipv4DefaultEIP']);
    }
  });

  it('an explicit EIP on the broadcast address of a /30 is refused, naming the CIDR (#25)', () => {
    const gw = gateway('egw1', { ipv4: B.ipv4 });
    const errors = validateAgainstCluster(policy({ ipv4: '198.18.1.3' }), { gateways: [gw] }, 'CREATE');
    expect(errors).toEqual([
      {
        path: 'spec.egressIP.ipv4',
        message:
          '198.18.1.3 is the broadcast address of 198.18.1.0/30 in EgressGateway egw1, which a pool leaves out: choose another address from its spec.ippools.ipv4',
      },
    ]);
  });

  it('a /30 counts 2 against the IPv6 pool; an IPv6 /126 keeps all 4', () => {
    expect(
      validateResource(gateway('egw1', { ipv4: ['198.18.1.0/30'], ipv6: ['fd00:1::1-fd00:1::2'] })).ok,
    ).toBe(true);
    expect(validateResource(gateway('egw1', B)).ok).toBe(false);
  });
});

describe.each(FAMILIES)('update rules (validateUpdate), %s', (f) => {
  const other: Family = f === 'ipv4' ? 'ipv6' : 'ipv4';
  it(`#9 a gateway created without an ${f} pool cannot get one -> spec.ippools.${f}`, () => {
    const before = gateway('egw1', { [other]: A[other] });
    const r = validateUpdate(before, gateway('egw1', { [other]: A[other], [f]: A[f] }));
    expect(r.ok ? [] : paths(r.errors)).toEqual([`spec.ippools.${f}`]);
  });

  it(`#9 adding addresses to an existing ${f} pool is fine`, () => {
    const after = gateway();
    after.spec!.ippools![f] = [...A[f], addr(f, 30)];
    after.spec!.ippools![other] = [...A[other], addr(other, 30)];
    expect(validateUpdate(gateway(), after).ok).toBe(true);
  });

  it(`#10 an ${f} EIP the status lists, even without policies, cannot leave the pool -> spec.ippools.${f}`, () => {
    const before = gateway();
    before.status = { nodeList: [{ name: 'node1', eips: [{ [f]: addr(f, 21), policies: [] }] }] };
    const after = gateway();
    after.spec!.ippools = { ...after.spec!.ippools, [f]: [addr(f, 10), addr(f, 20)] };
    after.spec!.ippools![other] = [addr(other, 10), addr(other, 20)];
    const r = validateUpdate(before, after);
    expect(r.ok ? [] : paths(r.errors)).toEqual([`spec.ippools.${f}`]);
    expect(r.ok ? '' : r.errors[0]?.message).toContain(`${addr(f, 21)} is assigned on node node1`);
  });
});

describe.each(FAMILIES)('cross-object rules (validateAgainstCluster), %s', (f) => {
  const other: Family = f === 'ipv4' ? 'ipv6' : 'ipv4';
  const view = (...gateways: EgressGateway[]) => ({ gateways });

  it(`#8 egw: a pool entry overlapping another gateway -> spec.ippools.${f}[1]`, () => {
    const g = gateway('egw2', { [f]: [...B[f], f === 'ipv4' ? '198.18.0.21/32' : 'fd00::21/128'] });
    const errors = validateAgainstCluster(g, view(gateway()), 'CREATE');
    expect(paths(errors)).toEqual([`spec.ippools.${f}[1]`]);
    expect(errors[0]?.message).toContain('EgressGateway egw1');
  });

  it('#8 egw: an update does not overlap its own stored version', () => {
    expect(validateAgainstCluster(gateway(), view(gateway(), gateway('egw2', B)), 'UPDATE')).toEqual([]);
  });

  it(`#25 policy: explicit ${f} EIP outside the gateway pool -> spec.egressIP.${f}`, () => {
    const p = policy({ [f]: addr(f, 99) });
    expect(paths(validateAgainstCluster(p, view(gateway()), 'CREATE'))).toEqual([`spec.egressIP.${f}`]);
  });

  it(`#23 policy: the default ${f} EIP with another ${other} address -> spec.egressIP.${other}`, () => {
    const p = policy({ [f]: addr(f, 10), [other]: addr(other, 21) });
    const errors = validateAgainstCluster(p, view(gateway()), 'CREATE');
    expect(paths(errors)).toEqual([`spec.egressIP.${other}`]);
    expect(errors[0]?.message).toContain(`use ${addr(other, 10)}`);
  });

  it(`#23 policy: the default pair, or the default ${f} EIP alone, is accepted`, () => {
    expect(
      validateAgainstCluster(policy({ ipv4: '198.18.0.10', ipv6: 'fd00::10' }), view(gateway()), 'CREATE'),
    ).toEqual([]);
    expect(validateAgainstCluster(policy({ [f]: addr(f, 10) }), view(gateway()), 'CREATE')).toEqual([]);
  });

  it(`#24 policy: an explicit pair splitting a pair in use -> spec.egressIP.${other}`, () => {
    const g = gateway();
    g.status = { nodeList: [{ name: 'node2', eips: [{ ipv4: '198.18.0.21', ipv6: 'fd00::21' }] }] };
    const p = policy({ [f]: addr(f, 21), [other]: addr(other, 22) });
    const errors = validateAgainstCluster(p, view(g), 'CREATE');
    expect(paths(errors)).toEqual([`spec.egressIP.${other}`]);
    expect(errors[0]?.message).toContain(`in use on node node2 paired with ${addr(other, 21)}`);
    expect(
      validateAgainstCluster(policy({ ipv4: '198.18.0.21', ipv6: 'fd00::21' }), view(g), 'CREATE'),
    ).toEqual([]);
  });
});

describe('cross-object rules without a family', () => {
  const view = (...gateways: EgressGateway[]) => ({ gateways });
  const cases: Array<[string, () => EgressObject, EgressGateway[], string]> = [
    [
      '#3 egw: a second cluster default',
      () =>
        ({
          ...gateway('egw2', B),
          spec: { ...gateway('egw2', B).spec, clusterDefault: true },
        }) as EgressGateway,
      [{ ...gateway(), spec: { ...gateway().spec, clusterDefault: true } } as EgressGateway],
      'spec.clusterDefault',
    ],
    [
      '#13 egp: no gateway after defaulting',
      () => ({ ...policy(), spec: { ...policy().spec, egressGatewayName: '' } }) as EgressPolicy,
      [gateway()],
      'spec.egressGatewayName',
    ],
    [
      '#13 egcp: no gateway after defaulting',
      () => {
        const p = clusterPolicy();
        delete p.spec!.egressGatewayName;
        return p;
      },
      [gateway()],
      'spec.egressGatewayName',
    ],
    ['#21 egp: the gateway does not exist', () => policy(), [gateway('other', B)], 'spec.egressGatewayName'],
    ['#21 egcp: the gateway does not exist', () => clusterPolicy(), [], 'spec.egressGatewayName'],
    [
      '#22 egp: gateway without pools and useNodeIP false',
      () => policy(),
      [gateway('egw1', {})],
      'spec.egressGatewayName',
    ],
  ];
  it.each(cases)('%s -> %s', (_n, make, gateways, path) => {
    const errors = validateAgainstCluster(make(), view(...gateways), 'CREATE');
    expect(paths(errors)).toEqual([path]);
    expect(errors[0]?.message).toMatch(/: (set|create|add|unset)/);
  });

  it('#22 a gateway without pools serves useNodeIP policies', () => {
    expect(validateAgainstCluster(policy({ useNodeIP: true }), view(gateway('egw1', {})), 'CREATE')).toEqual(
      [],
    );
  });

  it('#21-#25 run on create only, as upstream (the fields are immutable afterwards)', () => {
    expect(validateAgainstCluster(policy({ ipv4: '198.18.9.9' }), view(), 'UPDATE')).toEqual([]);
  });

  it('#3 re-applying the current default is not a second default', () => {
    const d = { ...gateway(), spec: { ...gateway().spec, clusterDefault: true } } as EgressGateway;
    expect(validateAgainstCluster(d, view(d, gateway('egw2', B)), 'UPDATE')).toEqual([]);
  });
});

describe('#2 a disabled family (validateFamilies)', () => {
  for (const f of FAMILIES) {
    const off = { ipv4: f !== 'ipv4', ipv6: f !== 'ipv6' };
    it(`egw: a ${f} pool and default EIP while ${f} is disabled`, () => {
      expect(paths(validateFamilies(gateway(), off))).toEqual([
        `spec.ippools.${f}`,
        `spec.ippools.${f}DefaultEIP`,
      ]);
    });
    it(`egp: an explicit ${f} EIP while ${f} is disabled; nothing when both are on`, () => {
      expect(paths(validateFamilies(policy({ [f]: addr(f, 10) }), off))).toEqual([`spec.egressIP.${f}`]);
      expect(validateFamilies(policy({ [f]: addr(f, 10) }), { ipv4: true, ipv6: true })).toEqual([]);
      expect(validateFamilies(policy({ useNodeIP: true }), off)).toEqual([]);
    });
  }
  it('a gateway without a pool of the disabled family passes; blank entries do not count', () => {
    expect(
      validateFamilies(gateway('g', { ipv4: ['198.18.3.1'], ipv6: [''] }), { ipv4: true, ipv6: false }),
    ).toEqual([]);
  });
});
