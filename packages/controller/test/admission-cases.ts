/**
 * Objects a real cluster must refuse at admission, each with the field path the refusal names:
 * every upstream rule (UPSTREAM-COMPAT.md §3, numbered as there) that concerns one incoming object,
 * for both IP families where the rule has one. Names are unique so a refusal printed by kubectl
 * can be matched to its case.
 */

type Family = 'ipv4' | 'ipv6';
export const FAMILIES: Family[] = ['ipv4', 'ipv6'];
const GV = 'egressgateway.spidernet.io/v1beta1';

/** Address `n` of subnet `net`: 198.18.<net>.<n> or fd00:<net>::<n hex>. */
const a = (f: Family, n: number, net = 7) =>
  f === 'ipv4' ? `198.18.${net}.${n}` : `fd00:${net}::${n.toString(16)}`;
const other = (f: Family): Family => (f === 'ipv4' ? 'ipv6' : 'ipv4');
const selector = { selector: { matchLabels: { egress: 'true' } } };

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

/** The cluster the cases run against: one gateway per family and dual stack, one policy on it. */
export function baseObjects(): Obj[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team', labels: { 'spidernet.io/egressgateway-default': 'base' } },
    },
    {
      apiVersion: GV,
      kind: 'EgressGateway',
      metadata: { name: 'base' },
      spec: {
        ippools: { ipv4: ['198.18.7.0/29'], ipv6: ['fd00:7::1-fd00:7::6'] }, // 6 addresses each (a /29 less its network and broadcast)
        nodeSelector: selector,
      },
    },
    {
      apiVersion: GV,
      kind: 'EgressGateway',
      metadata: { name: 'nopool' },
      spec: { ippools: {}, nodeSelector: selector },
    },
    {
      apiVersion: GV,
      kind: 'EgressGateway',
      metadata: { name: 'v4only' },
      spec: { ippools: { ipv4: ['198.18.8.1'] }, nodeSelector: selector },
    },
    policy('used', { egressGatewayName: 'base' }),
  ];
}

function gateway(name: string, spec: Record<string, unknown>): Obj {
  return {
    apiVersion: GV,
    kind: 'EgressGateway',
    metadata: { name },
    spec: { nodeSelector: selector, ...spec },
  };
}

function policy(name: string, spec: Record<string, unknown>, kind = 'EgressPolicy'): Obj {
  return {
    apiVersion: GV,
    kind,
    metadata: kind === 'EgressPolicy' ? { name, namespace: 'team' } : { name },
    spec: { appliedTo: { podSelector: { matchLabels: { app: 'web' } } }, ...spec },
  };
}

/** A case: the object applied, the field path its refusal must name, and the upstream rule. */
export interface Case {
  readonly rule: string;
  readonly object: Obj;
  readonly field: string;
  /** For update cases: the object created first (valid), then `object` applied over it. */
  readonly before?: Obj;
}

let n = 0;
const name = () => `bad-${++n}`;

function familyCases(f: Family): Case[] {
  const o = other(f);
  const mv = f === 'ipv4' ? 1 : 2; // each family's update case has its own gateway addresses
  const cases: Case[] = [];
  const gw = (rule: string, spec: Record<string, unknown>, field: string) =>
    cases.push({ rule, object: gateway(name(), spec), field });
  const pol = (rule: string, spec: Record<string, unknown>, field: string, kind?: string) =>
    cases.push({ rule, object: policy(name(), spec, kind), field });

  gw(
    '#4 pool entry is not an address',
    { ippools: { [f]: [f === 'ipv4' ? '198.18.9.300' : 'fd00:9::g'] } },
    `spec.ippools.${f}[0]`,
  );
  gw('#4 reversed range', { ippools: { [f]: [`${a(f, 9, 9)}-${a(f, 3, 9)}`] } }, `spec.ippools.${f}[0]`);
  gw('#4 an address of the other family', { ippools: { [f]: [a(o, 1, 9)] } }, `spec.ippools.${f}[0]`);
  gw(
    '#4 a CIDR with a prefix too long',
    { ippools: { [f]: [f === 'ipv4' ? '198.18.9.0/33' : 'fd00:9::/129'] } },
    `spec.ippools.${f}[0]`,
  );
  gw(
    '#7 default EIP outside its pool',
    { ippools: { [f]: [a(f, 1, 9)], [`${f}DefaultEIP`]: a(f, 2, 10) } },
    `spec.ippools.${f}DefaultEIP`,
  );
  gw(
    '#7 default EIP of the other family',
    { ippools: { [f]: [a(f, 1, 9)], [`${f}DefaultEIP`]: a(o, 1) } },
    `spec.ippools.${f}DefaultEIP`,
  );
  gw('#8 an address of another gateway', { ippools: { [f]: [a(f, 3)] } }, `spec.ippools.${f}[0]`);
  gw(
    '#8 a range reaching into another gateway',
    { ippools: { [f]: [a(f, 1, 11), `${a(f, 6)}-${a(f, 9)}`] } },
    `spec.ippools.${f}[1]`,
  );
  gw(
    '#6 dual-stack pools of unequal size',
    {
      ippools: {
        [f]: [a(f, 1, 12), a(f, 2, 12)],
        [o]: [a(o, 1, 12)],
      },
    },
    'spec.ippools',
  );

  pol(
    '#16 useNodeIP with an explicit EIP',
    { egressGatewayName: 'base', egressIP: { useNodeIP: true, [f]: a(f, 1) } },
    `spec.egressIP.${f}`,
  );
  pol(
    '#17 an EIP of the other family',
    { egressGatewayName: 'base', egressIP: { [f]: a(o, 1) } },
    `spec.egressIP.${f}`,
  );
  pol(
    '#25 an explicit EIP outside the pool',
    { egressGatewayName: 'base', egressIP: { [f]: a(f, 200) } },
    `spec.egressIP.${f}`,
  );
  pol(
    '#25 cluster policy: an explicit EIP outside the pool',
    { egressGatewayName: 'base', egressIP: { [f]: a(f, 201) } },
    `spec.egressIP.${f}`,
    'EgressClusterPolicy',
  );
  pol(
    '#26 destSubnet entry not a CIDR',
    { egressGatewayName: 'base', destSubnet: [f === 'ipv4' ? '203.0.113.0/40' : 'fd00:6::/200'] },
    'spec.destSubnet[0]',
  );
  pol(
    '#26 destSubnet entry not a CIDR, second entry',
    {
      egressGatewayName: 'base',
      destSubnet: [f === 'ipv4' ? '203.0.113.0/24' : 'fd00:6::/64', 'not-a-cidr'],
    },
    'spec.destSubnet[1]',
  );
  pol(
    'podSubnet entry not a CIDR',
    {
      egressGatewayName: 'base',
      appliedTo: { podSubnet: [f === 'ipv4' ? '198.19.0.0/99' : 'fd00:5::/999'] },
    },
    'spec.appliedTo.podSubnet[0]',
  );
  pol(
    '#18 podSelector together with podSubnet',
    {
      egressGatewayName: 'base',
      appliedTo: {
        podSelector: { matchLabels: { app: 'x' } },
        podSubnet: [f === 'ipv4' ? '198.19.0.0/24' : 'fd00:5::/64'],
      },
    },
    'spec.appliedTo',
  );
  pol(
    '#22 a gateway without a pool for the EIP',
    { egressGatewayName: 'nopool', egressIP: { [f]: a(f, 1) } },
    `spec.egressIP.${f}`,
  );
  pol(
    '#23 the default EIP split from its pair',
    { egressGatewayName: 'dual-defaults', egressIP: { [f]: a(f, 1, 13), [o]: a(o, 2, 13) } },
    `spec.egressIP.${o}`,
  );

  cases.push({
    rule: '#20 a policy cannot change its EIP',
    before: policy(`upd-${f}`, { egressGatewayName: 'base', egressIP: { [f]: a(f, 1) } }),
    object: policy(`upd-${f}`, { egressGatewayName: 'base', egressIP: { [f]: a(f, 2) } }),
    field: `spec.egressIP.${f}`,
  });
  cases.push({
    rule: '#9 a pool of a family cannot appear on update',
    before: gateway(`grow-${f}`, { ippools: { [o]: [a(o, 1, 14)] } }),
    object: gateway(`grow-${f}`, { ippools: { [o]: [a(o, 1, 14)], [f]: [a(f, 1, 14)] } }),
    field: `spec.ippools.${f}`,
  });
  cases.push({
    rule: '#8 an update moving into another gateway',
    before: gateway(`move-${f}`, { ippools: { ipv4: [a('ipv4', mv, 15)], ipv6: [a('ipv6', mv, 15)] } }),
    // Keeps its addresses (the default EIPs the mutating webhook wrote stay in the pool) and adds one of base's.
    object: gateway(`move-${f}`, {
      ippools: { [f]: [a(f, mv, 15), a(f, 4)], [o]: [a(o, mv, 15), a(o, mv, 16)] },
    }),
    field: `spec.ippools.${f}[1]`,
  });
  return cases;
}

/** The gateway the #23 cases need: defaults 198.18.13.1 / fd00:13::1 as a pair. */
export function dualDefaults(): Obj {
  return gateway('dual-defaults', {
    ippools: {
      ipv4: ['198.18.13.1', '198.18.13.2'],
      ipv6: ['fd00:13::1', 'fd00:13::2'],
      ipv4DefaultEIP: '198.18.13.1',
      ipv6DefaultEIP: 'fd00:13::1',
    },
  });
}

/** Every case: the family cases twice, then the rules without a family. */
export function invalidCases(): Case[] {
  n = 0;
  const cases = [...familyCases('ipv4'), ...familyCases('ipv6')];
  const gw = (rule: string, spec: Record<string, unknown>, field: string) =>
    cases.push({ rule, object: gateway(name(), spec), field });
  const pol = (rule: string, spec: Record<string, unknown>, field: string, kind?: string) =>
    cases.push({ rule, object: policy(name(), spec, kind), field });
  gw(
    '#1 nodeSelector selects every node',
    { ippools: {}, nodeSelector: { selector: {} } },
    'spec.nodeSelector.selector',
  );
  gw(
    '#1 empty matchLabels and matchExpressions',
    { ippools: {}, nodeSelector: { selector: { matchLabels: {}, matchExpressions: [] } } },
    'spec.nodeSelector.selector',
  );
  gw(
    '#1 a bad label key in the selector',
    { ippools: {}, nodeSelector: { selector: { matchLabels: { 'bad key!': 'x' } } } },
    'spec.nodeSelector.selector.matchLabels',
  );
  pol(
    '#19 podSelector {} selects every pod',
    { egressGatewayName: 'base', appliedTo: { podSelector: {} } },
    'spec.appliedTo.podSelector',
  );
  pol(
    '#19 neither podSelector nor podSubnet',
    { egressGatewayName: 'base', appliedTo: {} },
    'spec.appliedTo',
  );
  pol(
    '#19 cluster policy with an empty podSelector',
    { egressGatewayName: 'base', appliedTo: { podSelector: { matchLabels: {} } } },
    'spec.appliedTo.podSelector',
    'EgressClusterPolicy',
  );
  pol('#21 the gateway does not exist', { egressGatewayName: 'missing' }, 'spec.egressGatewayName');
  pol(
    '#21 cluster policy: the gateway does not exist',
    { egressGatewayName: 'missing' },
    'spec.egressGatewayName',
    'EgressClusterPolicy',
  );
  pol('#22 a gateway without any pool', { egressGatewayName: 'nopool' }, 'spec.egressGatewayName');
  pol(
    'allocatorPolicy not one of default, rr',
    { egressGatewayName: 'base', egressIP: { allocatorPolicy: 'random' } },
    'spec.egressIP.allocatorPolicy',
  );
  cases.push({
    rule: '#20 a policy cannot change its gateway',
    before: policy('upd-gw', { egressGatewayName: 'base' }),
    object: policy('upd-gw', { egressGatewayName: 'v4only' }),
    field: 'spec.egressGatewayName',
  });
  cases.push({
    rule: '#20 a policy cannot change its allocator',
    before: policy('upd-alloc', { egressGatewayName: 'base', egressIP: { allocatorPolicy: 'default' } }),
    object: policy('upd-alloc', { egressGatewayName: 'base', egressIP: { allocatorPolicy: 'rr' } }),
    field: 'spec.egressIP.allocatorPolicy',
  });
  cases.push({
    rule: '#20 a cluster policy cannot change useNodeIP',
    before: policy(
      'upd-node',
      { egressGatewayName: 'base', egressIP: { useNodeIP: false } },
      'EgressClusterPolicy',
    ),
    object: policy(
      'upd-node',
      { egressGatewayName: 'base', egressIP: { useNodeIP: true } },
      'EgressClusterPolicy',
    ),
    field: 'spec.egressIP.useNodeIP',
  });
  return cases;
}

/** Policies that need the cluster to have no default gateway (#13): run before {@link defaultCases}. */
export function noDefaultCases(): Case[] {
  return [
    {
      rule: '#13 no gateway and no cluster default',
      object: policy('nodefault-c', {}, 'EgressClusterPolicy'),
      field: 'spec.egressGatewayName',
    },
    {
      rule: '#13 no gateway, a namespace without the label, no cluster default',
      object: { ...policy('nodefault-p', {}), metadata: { name: 'nodefault-p', namespace: 'default' } },
      field: 'spec.egressGatewayName',
    },
  ];
}

/** #3: a second cluster default, once `first-default` is the default. */
export function defaultCases(): { first: Obj; cases: Case[] } {
  return {
    first: gateway('first-default', { clusterDefault: true, ippools: { ipv4: ['198.18.16.1'] } }),
    cases: [
      {
        rule: '#3 a second cluster default',
        object: gateway('second-default', { clusterDefault: true, ippools: { ipv4: ['198.18.16.2'] } }),
        field: 'spec.clusterDefault',
      },
    ],
  };
}
