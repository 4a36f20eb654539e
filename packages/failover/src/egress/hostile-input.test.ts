import { describe, expect, it } from 'vitest';
import { applyEgressChanges, type EgressChanges, type EgressState, reconcileEgress } from '../index.js';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/index.js';

const config = { evictionTimeoutMs: 3_000 };
const NOW = 100_000;

function cluster(over: Partial<EgressState> = {}): EgressState {
  return {
    gateways: [makeGateway('gw', { ipv4: ['198.18.0.10-198.18.0.13'], ipv4DefaultEIP: '198.18.0.10' })],
    nodes: ['n1', 'n2'].map((n) => makeNode(n)),
    tunnels: ['n1', 'n2'].map((n) => makeTunnel(n, NOW - 500)),
    policies: [makePolicy('ns', 'p', { gateway: 'gw' })],
    clusterPolicies: [],
    ...over,
  };
}

/** Reconciles something that is not a valid state (the engine must take anything). */
function reconcileAny(state: unknown, now = NOW): EgressChanges {
  return reconcileEgress(state as EgressState, config, now);
}

const reasons = (r: EgressChanges) => r.problems.map((p) => p.reason);
const messages = (r: EgressChanges) => r.problems.map((p) => p.message).join('\n');
const placed = (r: EgressChanges) =>
  r.gateways.flatMap((g) => g.nodeList.flatMap((n) => (n.eips ?? []).map((e) => [n.name, e.ipv4, e.ipv6])));

describe('hostile input is reported, never thrown', () => {
  it('a null entry in any top-level list is reported and the rest still works', () => {
    const base = cluster();
    for (const key of ['gateways', 'nodes', 'tunnels', 'policies', 'clusterPolicies'] as const) {
      const r = reconcileAny({ ...base, [key]: [null, ...base[key], 7] });
      expect(reasons(r), key).toContain('InvalidInput');
      expect(messages(r), key).toContain(`state.${key}`);
      expect(placed(r), key).toEqual([['n1', '198.18.0.10', '']]);
    }
  });

  it('a written status.nodeList of null (JSON for an absent list) reads as absent (it threw a TypeError)', () => {
    const base = cluster();
    const gw = base.gateways[0];
    if (gw === undefined) throw new Error('no gateway');
    const state = cluster({ gateways: [{ ...gw, status: { nodeList: null } } as unknown as typeof gw] });
    const r = reconcileAny(state);
    expect(placed(r)).toEqual(placed(reconcileAny(base)));
    expect(placed(r).length).toBeGreaterThan(0);
  });

  it('state {} and state null are reported as problems', () => {
    for (const state of [{}, null, 'cluster', []]) {
      const r = reconcileAny(state);
      expect([r.tunnels, r.gateways, r.policies, r.events, r.nextWakeAt]).toEqual([[], [], [], [], null]);
      expect(reasons(r)).toContain('InvalidInput');
      expect(messages(r)).toContain('state.gateways must be a list');
    }
  });

  it('null entries nested anywhere are reported', () => {
    const gateway = makeGateway('gw', {
      ipv4: [null as never, '198.18.0.10-198.18.0.13'],
      ipv4DefaultEIP: '198.18.0.10',
      selector: { matchLabels: { egress: 'true' }, matchExpressions: [null as never] },
    });
    const r = reconcileAny(cluster({ gateways: [gateway] }));
    expect(reasons(r)).toEqual(expect.arrayContaining(['InvalidPoolEntry', 'InvalidNodeSelector']));
    const nodes = [
      {
        metadata: { name: 'n1', labels: { egress: 'true' } },
        status: { conditions: [null], addresses: [null] },
      },
      makeNode('n2'),
    ];
    const r2 = reconcileAny(cluster({ nodes: nodes as never }));
    expect(messages(r2)).toContain('status.conditions[0]');
    expect(placed(r2)).toEqual([['n1', '198.18.0.10', '']]);
  });

  it('a non-list matchExpressions or a selector that is not an object selects nothing, with a problem', () => {
    for (const selector of [{ matchExpressions: { key: 'egress' } }, 'egress=true', { matchLabels: 'x' }]) {
      const gateway = makeGateway('gw', { ipv4: ['198.18.0.10'], selector: selector as never });
      const r = reconcileAny(cluster({ gateways: [gateway] }));
      expect(reasons(r)).toContain('InvalidNodeSelector');
      expect(placed(r)).toEqual([]);
    }
    const badValues = makeGateway('gw', {
      ipv4: ['198.18.0.10'],
      selector: { matchExpressions: [{ key: 'egress', operator: 'In', values: 'true' as never }] },
    });
    expect(reasons(reconcileAny(cluster({ gateways: [badValues] })))).toContain('InvalidNodeSelector');
  });

  it('a string pool, a numeric default EIP and a numeric policy EIP are reported', () => {
    const gateway = {
      metadata: { name: 'gw' },
      spec: {
        ippools: { ipv4: '198.18.0.10', ipv6: ['fd00::10'], ipv4DefaultEIP: 5 },
        nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
      },
    };
    const r = reconcileAny(cluster({ gateways: [gateway as never] }));
    expect(messages(r)).toContain('spec.ippools.ipv4 must be a list of strings');
    expect(messages(r)).toContain('spec.ippools.ipv4DefaultEIP must be a string');
    const policy = {
      metadata: { name: 'p', namespace: 'ns' },
      spec: { egressGatewayName: 'gw', egressIP: { ipv4: 5 } },
    };
    const r2 = reconcileAny(cluster({ policies: [policy as never] }));
    expect(messages(r2)).toContain('spec.egressIP.ipv4 must be a string');
    // The policy asked for an EIP the engine cannot read: it gets none (not the default instead).
    expect(placed(r2)).toEqual([]);
  });

  it('spec.ippools that is null, a string or a number never throws (found by the property test)', () => {
    for (const ippools of [null, 'x', 7]) {
      const gateway = {
        metadata: { name: 'gw' },
        spec: { ippools, nodeSelector: { selector: { matchLabels: { egress: 'true' } } } },
      };
      const r = reconcileAny(cluster({ gateways: [gateway as never] }));
      expect(placed(r), String(ippools)).toEqual([]);
    }
  });

  it('a malformed status.nodeList is reported and rewritten, and placement survives it', () => {
    const clean = applyEgressChanges(cluster(), reconcileAny(cluster()));
    const nodeList = clean.gateways[0]?.status?.nodeList ?? [];
    for (const bad of [
      { n: 1 },
      'n1',
      [null, ...nodeList],
      [{ name: 5 }, ...nodeList],
      [{ ...nodeList[0], eips: 'x' }, ...nodeList.slice(1)],
      [{ ...nodeList[0], eips: [null, { ipv4: 5 }, { ipv4: '198.18.0.10', policies: [null] }] }],
      [{ ...nodeList[0], eips: [{ ipv4: '198.18.0.10', policies: { name: 'p' } }] }],
    ]) {
      const gateway = { ...clean.gateways[0], status: { nodeList: bad } };
      const state = { ...clean, gateways: [gateway as never] };
      const r = reconcileAny(state);
      expect(reasons(r), JSON.stringify(bad)).toContain('InvalidInput');
      expect(messages(r)).toContain('status.nodeList');
      // The status is written again, clean, with the EIP still on a healthy node.
      expect(r.gateways.length, JSON.stringify(bad)).toBe(1);
      const again = reconcileAny(applyEgressChanges(state, r));
      expect([again.gateways, again.policies]).toEqual([[], []]);
      expect(reasons(again)).not.toContain('InvalidInput');
    }
  });

  it('junk in tunnels (observedAt, phase, names) is reported or treated as no heartbeat', () => {
    const tunnels = [
      { tunnel: { metadata: { name: 'n1' }, status: { phase: 5 } }, observedAt: 'yesterday' },
      { tunnel: null, observedAt: NOW },
      { tunnel: { metadata: { name: 7 } }, observedAt: NOW },
      makeTunnel('n2', NOW - 500),
    ];
    const r = reconcileAny(cluster({ tunnels: tunnels as never }));
    expect(reasons(r)).toContain('InvalidInput');
    expect(placed(r)).toEqual([['n2', '198.18.0.10', '']]);
  });

  it('junk in policy status and metadata never throws', () => {
    const junk = [
      { metadata: { name: 'a', namespace: 3 }, spec: { egressGatewayName: 'gw' } },
      {
        metadata: { name: 'b', namespace: 'ns' },
        spec: { egressGatewayName: 'gw' },
        status: { eip: 'x', node: 4 },
      },
      { metadata: null, spec: null },
      { metadata: { name: 'c', namespace: 'ns' }, spec: { egressGatewayName: 9, egressIP: [] } },
      { metadata: { name: 'd', namespace: 'ns' }, spec: 'x', status: { eip: { ipv4: {}, ipv6: null } } },
    ];
    const r = reconcileAny(cluster({ policies: junk as never, namespaceLabels: { ns: null } as never }));
    expect(reasons(r)).toContain('InvalidInput');
    expect(() => applyEgressChanges(cluster({ policies: junk as never }), r)).not.toThrow();
  });

  it('null counts as a field left out, as in Kubernetes, with no problem', () => {
    const gateway = {
      metadata: { name: 'gw', labels: null },
      spec: {
        ippools: { ipv4: ['198.18.0.10'], ipv6: null, ipv4DefaultEIP: '198.18.0.10', ipv6DefaultEIP: null },
        nodeSelector: { selector: { matchLabels: { egress: 'true' }, matchExpressions: null } },
      },
      status: null,
    };
    const policy = {
      metadata: { name: 'p', namespace: 'ns' },
      spec: { egressGatewayName: 'gw', egressIP: { ipv4: null, allocatorPolicy: null, useNodeIP: null } },
      status: null,
    };
    const r = reconcileAny(cluster({ gateways: [gateway as never], policies: [policy as never] }));
    expect(reasons(r)).toEqual([]);
    expect(placed(r)).toEqual([['n1', '198.18.0.10', '']]);
  });

  it('applyEgressChanges takes junk state without throwing', () => {
    const r = reconcileAny(cluster());
    for (const state of [{}, null, { ...cluster(), tunnels: [null], gateways: 'x', policies: [null] }]) {
      expect(() => applyEgressChanges(state as never, r)).not.toThrow();
    }
  });
});

describe('two tunnels with the same name', () => {
  it('the latest observation counts, whatever the order, and a problem names the tunnel', () => {
    const stale = makeTunnel('n1', NOW - 10_000);
    const fresh = makeTunnel('n1', NOW - 100);
    const a = reconcileAny(cluster({ tunnels: [stale, fresh, makeTunnel('n2', NOW - 100)] }));
    const b = reconcileAny(cluster({ tunnels: [makeTunnel('n2', NOW - 100), fresh, stale] }));
    expect(a).toEqual(b);
    expect(placed(a)).toEqual([['n1', '198.18.0.10', '']]);
    expect(a.problems.find((p) => p.reason === 'DuplicateTunnel')?.involvedObject).toEqual({
      kind: 'EgressTunnel',
      name: 'n1',
    });
  });

  it('on equal observation instants, a draining one counts (order does not matter)', () => {
    const plain = makeTunnel('n1', NOW - 100);
    const draining = makeTunnel('n1', NOW - 100, 'Ready', true);
    const a = reconcileAny(cluster({ tunnels: [plain, draining, makeTunnel('n2', NOW - 100)] }));
    const b = reconcileAny(cluster({ tunnels: [draining, makeTunnel('n2', NOW - 100), plain] }));
    expect(a).toEqual(b);
    expect(placed(a)).toEqual([['n2', '198.18.0.10', '']]);
  });
});

describe('addresses that are never handed out as EIPs', () => {
  const nodes = ['n1', 'n2', 'n3'].map((n) => makeNode(n));
  const tunnels = ['n1', 'n2', 'n3'].map((n) => makeTunnel(n, NOW - 500));
  const rr = (k: number) =>
    Array.from({ length: k }, (_, i) => makePolicy('ns', `p${i}`, { gateway: 'gw', allocatorPolicy: 'rr' }));
  const handedOut = (gateway: ReturnType<typeof makeGateway>, policies = rr(6)) => {
    const r = reconcileAny({ gateways: [gateway], nodes, tunnels, policies, clusterPolicies: [] });
    return {
      r,
      addresses: new Set(
        placed(r)
          .flatMap(([, v4, v6]) => [v4, v6])
          .filter((a) => a !== ''),
      ),
    };
  };

  it('0.0.0.0 and :: in a pool are never placed', () => {
    const { addresses } = handedOut(
      makeGateway('gw', { ipv4: ['0.0.0.0', '198.18.0.5'], ipv6: ['::', 'fd00::5'] }),
    );
    expect([...addresses].sort()).toEqual(['198.18.0.5', 'fd00::5']);
  });

  // Issue 19: the IPv4 network and broadcast addresses of a CIDR are outside the pool now (as
  // upstream reads it; the engine used to keep them in the pool and skip them). The IPv6 network
  // address (subnet-router anycast) stays in the pool, counted as upstream counts it, but is skipped.
  it("an IPv4 CIDR's network and broadcast and an IPv6 CIDR's network address are never placed", () => {
    const v4 = handedOut(makeGateway('gw', { ipv4: ['198.18.0.0/30'] }));
    expect([...v4.addresses].sort()).toEqual(['198.18.0.1', '198.18.0.2']);
    const v6 = handedOut(makeGateway('gw', { ipv6: ['fd00::/126'] }));
    expect([...v6.addresses].sort()).toEqual(['fd00::1', 'fd00::2', 'fd00::3']);
    // A /31 or /32 (point-to-point, RFC 3021) has no network address to avoid.
    const p2p = handedOut(makeGateway('gw', { ipv4: ['198.18.0.6/31'] }));
    expect([...p2p.addresses].sort()).toEqual(['198.18.0.6', '198.18.0.7']);
    // Every IPv6 CIDR entry as written keeps its anycast address out, even inside a larger entry
    // (found by the controller's pool agreement property test).
    const nested = handedOut(makeGateway('gw', { ipv6: ['fd00::/124', 'fd00::4/126'] }), rr(20));
    expect(nested.addresses.size).toBe(14);
    expect(nested.addresses.has('fd00::') || nested.addresses.has('fd00::4')).toBe(false);
    // Listed on its own, the network address is in the pool and handed out, as upstream does.
    const own = handedOut(makeGateway('gw', { ipv4: ['198.18.0.0/30', '198.18.0.0'] }));
    expect([...own.addresses].sort()).toEqual(['198.18.0.0', '198.18.0.1', '198.18.0.2']);
  });

  // Which addresses of the shortest CIDRs are handed out, as upstream v0.6.9 hands them out: its rr
  // allocator picks any address of the pool as pkg/utils/ip/ip.go:478-495 (CidrToIPs) lists it
  // (pkg/egressgateway/egress_gateway.go:1008-1024 and :1044-1060), and that list trims only IPv4
  // CIDRs of more than two addresses. So every address of a /31, /32, /127 and /128 is handed out.
  it.each([
    ['IPv4 /31', { ipv4: ['198.18.0.6/31'] }, ['198.18.0.6', '198.18.0.7']],
    ['IPv4 /32', { ipv4: ['198.18.0.9/32'] }, ['198.18.0.9']],
    [
      'IPv6 /127 (no subnet-router anycast address on a point-to-point /127, RFC 6164)',
      { ipv6: ['fd00::8/127'] },
      ['fd00::8', 'fd00::9'],
    ],
    ['IPv6 /128', { ipv6: ['fd00::9/128'] }, ['fd00::9']],
  ] as const)('every address of an %s is handed out, as upstream', (_name, pools, expected) => {
    const { r, addresses } = handedOut(makeGateway('gw', { ...pools }), rr(expected.length));
    expect([...addresses].sort()).toEqual(expected);
    expect(reasons(r)).not.toContain('PoolShared');
    // One more rr policy than addresses: the pool is used up and the policy shares.
    expect(reasons(handedOut(makeGateway('gw', { ...pools }), rr(expected.length + 1)).r)).toContain(
      'PoolShared',
    );
  });

  it('a default or explicit EIP on such an address is refused with a problem', () => {
    const gateway = makeGateway('gw', { ipv4: ['198.18.0.0/29'], ipv4DefaultEIP: '198.18.0.0' });
    const policies = [
      makePolicy('ns', 'default', { gateway: 'gw' }),
      makePolicy('ns', 'explicit', { gateway: 'gw', ipv4: '198.18.0.7' }),
    ];
    const { r, addresses } = handedOut(gateway, policies);
    expect(addresses.has('198.18.0.0') || addresses.has('198.18.0.7')).toBe(false);
    // Not in the pool at all now, as admission says (it was "not usable" inside the pool before).
    expect(reasons(r)).toEqual(expect.arrayContaining(['DefaultEIPNotInPool', 'EIPNotInPool']));
    // The default policy falls back to the first usable address.
    expect(r.policies.find((p) => p.name === 'default')?.status.eip.ipv4).toBe('198.18.0.1');
  });

  it('a written status holding such an address does not keep it', () => {
    const gateway = makeGateway('gw', {
      ipv4: ['198.18.0.0/29'],
      ipv4DefaultEIP: '198.18.0.1',
      nodeList: [
        {
          name: 'n1',
          status: 'Ready',
          eips: [{ ipv4: '198.18.0.0', policies: [{ name: 'p', namespace: 'ns' }] }],
        },
      ],
    });
    const { addresses } = handedOut(gateway, [makePolicy('ns', 'p', { gateway: 'gw' })]);
    expect([...addresses]).toEqual(['198.18.0.1']);
  });
});

describe('a sticky pair that a corrupt status makes collide with another pair', () => {
  // Found by the hostile-input property with a random seed: the gateway status named p's pair as
  // (198.18.0.10, fd00:18::11), i.e. half of the explicit policy's pair. The first call refused p's
  // sticky pair and left p without an EIP, the second call (on the written result) allocated one:
  // the engine was not idempotent. Now the first call gives p its next choice at once.
  const written = (): EgressState => {
    const state = cluster({
      gateways: [
        makeGateway('gw', {
          ipv4: ['198.18.0.10-198.18.0.12'],
          ipv6: ['fd00:18::10-fd00:18::12'],
          ipv4DefaultEIP: '198.18.0.10',
        }),
      ],
      policies: [
        makePolicy('ns', 'explicit', { gateway: 'gw', ipv4: '198.18.0.10' }),
        makePolicy('ns', 'p', { gateway: 'gw', allocatorPolicy: 'rr' }),
      ],
    });
    return applyEgressChanges(state, reconcileAny(state));
  };
  const corrupt = (state: EgressState, clearOwnStatus: boolean): EgressState => {
    const s = structuredClone(state);
    for (const node of s.gateways[0]?.status?.nodeList ?? [])
      for (const e of node.eips ?? [])
        if (e.policies?.some((r) => r.name === 'p')) (e as { ipv4: string }).ipv4 = '198.18.0.10';
    const p = s.policies.find((x) => x.metadata?.name === 'p');
    if (clearOwnStatus && p !== undefined)
      (p as { status?: unknown }).status = { eip: { ipv4: '', ipv6: '' }, node: '' };
    return s;
  };
  const pairOf = (r: EgressChanges, name: string) =>
    r.gateways
      .flatMap((g) => g.nodeList.flatMap((n) => n.eips ?? []))
      .find((e) => e.policies?.some((x) => x.name === name));

  it('the setup gives p 198.18.0.11|fd00:18::11 and the explicit policy 198.18.0.10|fd00:18::10', () => {
    const s = written();
    const r = reconcileAny(s);
    expect([r.gateways, r.policies]).toEqual([[], []]);
    const list = s.gateways[0]?.status?.nodeList?.flatMap((n) => n.eips ?? []) ?? [];
    expect(list.map((e) => [e.ipv4, e.ipv6, e.policies?.map((x) => x.name)])).toEqual(
      expect.arrayContaining([
        ['198.18.0.10', 'fd00:18::10', ['explicit']],
        ['198.18.0.11', 'fd00:18::11', ['p']],
      ]),
    );
  });

  for (const clearOwnStatus of [false, true]) {
    it(`p gets an EIP in the first call and the second call is quiet (own status ${clearOwnStatus ? 'cleared' : 'kept'})`, () => {
      const state = corrupt(written(), clearOwnStatus);
      const first = reconcileAny(state);
      expect(pairOf(first, 'p')).toMatchObject({ ipv4: '198.18.0.11', ipv6: 'fd00:18::11' });
      expect(pairOf(first, 'explicit')).toMatchObject({ ipv4: '198.18.0.10', ipv6: 'fd00:18::10' });
      expect(first.problems.filter((x) => x.involvedObject.name === 'p').map((x) => x.reason)).not.toContain(
        'EIPConflict',
      );
      const again = reconcileAny(applyEgressChanges(state, first));
      expect([again.gateways, again.policies]).toEqual([[], []]);
    });
  }
});
