// The engine reuses, between calls, the resolution of unchanged gateways, nodes and policies and the
// outcome of every gateway whose nodes' health is unchanged. These tests replay histories the way a
// controller lives them (heartbeats arrive or stop, nodes flip Ready, writes land or fail, policies
// come and go) and compare every step with a first call on deep copies, which shares nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbCluster } from '../testing/arbitraries.js';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '../testing/builders.js';
import { applyEgressChanges } from './apply-changes.js';
import { createEgressReconciler, reconcileEgress } from './reconcile.js';
import type { EgressPolicyLike, EgressState, NodeLike, TunnelObservation } from './types.js';

/** One step of a history: what happens before the controller reconciles again. */
interface Step {
  /** Time that passes (ms). */
  readonly dt: number;
  /** Per node: its agent's heartbeat is observed now (true) or not (it ages). */
  readonly beats: readonly boolean[];
  /** Whether the controller's writes of the previous result land before this step. */
  readonly applied: boolean;
  /** A node whose Ready condition flips (index into the nodes), or null. */
  readonly flip: number | null;
  /** A node whose agent starts or stops draining, or null. */
  readonly drain: number | null;
  /** A node whose tunnel is recreated (agent reinstalled: a new phase, no heartbeat yet), or null. */
  readonly retunnel: { readonly node: number; readonly phase: string } | null;
  /** A policy whose spec is edited in place (allocation, and maybe its gateway), or null. */
  readonly edit: { readonly at: number; readonly rr: boolean; readonly gateway: number | null } | null;
  /** A gateway whose spec is edited in place (cluster default toggled), or null. */
  readonly gatewayEdit: number | null;
  /** A policy added (with a gateway name among gw1..gw3) or removed, or null. */
  readonly policy: { readonly add: boolean; readonly gateway: number; readonly rr: boolean } | null;
}

/** `arb` once in `n` steps, else null. */
const rarely = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

const arbStep = (nodes: number, eviction: number): fc.Arbitrary<Step> =>
  fc.record({
    dt: fc.oneof(
      fc.integer({ min: 0, max: eviction / 2 }),
      fc.constantFrom(eviction, eviction + 1),
      fc.integer({ min: 0, max: 2 * eviction }),
    ),
    // Mostly steady: most agents heartbeat, now and then one stops.
    beats: fc.array(
      fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      { minLength: nodes, maxLength: nodes },
    ),
    applied: fc.oneof(
      { weight: 3, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    // Rarer: a Node object, an agent's draining, or the policies change.
    flip: rarely(fc.nat({ max: nodes - 1 }), 8),
    drain: rarely(fc.nat({ max: nodes - 1 }), 10),
    retunnel: rarely(
      fc.record({
        node: fc.nat({ max: nodes - 1 }),
        phase: fc.constantFrom('Init', 'Failed', 'Pending', ''),
      }),
      10,
    ),
    edit: rarely(
      fc.record({
        at: fc.nat(),
        rr: fc.boolean(),
        gateway: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
      }),
      8,
    ),
    gatewayEdit: rarely(fc.nat(), 12),
    policy: rarely(
      fc.record({ add: fc.boolean(), gateway: fc.integer({ min: 1, max: 3 }), rr: fc.boolean() }),
      8,
    ),
  });

function flipReady(node: NodeLike): NodeLike {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  return {
    ...node,
    status: { ...node.status, conditions: [{ type: 'Ready', status: ready ? 'False' : 'True' }] },
  };
}

/** The state after `step`, at `now`: only what the step names is replaced, every other object kept. */
function advance(state: EgressState, step: Step, now: number, serial: number): EgressState {
  const names = state.nodes.map((n) => n.metadata?.name ?? '');
  const tunnels: TunnelObservation[] = state.tunnels.map((t) => {
    const i = names.indexOf(t.tunnel.metadata?.name ?? '');
    let next = t;
    if (i >= 0 && step.beats[i] === true) next = { ...next, observedAt: now - (serial % 7) };
    if (i >= 0 && i === step.drain) next = { ...next, draining: next.draining !== true };
    if (i >= 0 && i === step.retunnel?.node) {
      const phase = step.retunnel.phase;
      next = {
        tunnel: { metadata: { name: names[i] }, ...(phase !== '' ? { status: { phase } } : {}) },
        observedAt: null,
      };
    }
    return next;
  });
  const nodes =
    step.flip === null ? state.nodes : state.nodes.map((n, i) => (i === step.flip ? flipReady(n) : n));
  let policies = state.policies;
  if (step.edit !== null && policies.length > 0) {
    const at = step.edit.at % policies.length;
    const allocatorPolicy = step.edit.rr ? 'rr' : 'default';
    const gateway = step.edit.gateway;
    policies = policies.map((p, i) => {
      if (i !== at) return p;
      const spec = { ...p.spec, egressIP: { allocatorPolicy } };
      return { ...p, spec: gateway === null ? spec : { ...spec, egressGatewayName: `gw${gateway}` } };
    });
  }
  let gateways = state.gateways;
  if (step.gatewayEdit !== null && gateways.length > 0) {
    const at = step.gatewayEdit % gateways.length;
    gateways = gateways.map((g, i) =>
      i === at ? { ...g, spec: { ...g.spec, clusterDefault: g.spec?.clusterDefault !== true } } : g,
    );
  }
  if (step.policy?.add === true) {
    const { gateway, rr } = step.policy;
    policies = [
      ...policies,
      makePolicy(
        'ns-h',
        `added-${serial}`,
        rr ? { gateway: `gw${gateway}`, allocatorPolicy: 'rr' } : { gateway: `gw${gateway}` },
      ),
    ];
  } else if (step.policy !== null && policies.length > 0) {
    policies = policies.filter((_, i) => i !== serial % policies.length);
  }
  return { ...state, gateways, nodes, tunnels, policies };
}

/**
 * Two gateways over four nodes: gwA selects the nodes labelled `a`, gwB those labelled `b`; each has
 * one EIP and one policy (pa, pb). `n3b`: whether n3 is also a gwB node. No tunnel yet.
 */
function twoGateways(n3b: boolean): Omit<EgressState, 'tunnels'> {
  const gateway = (name: string, i: number, label: string) =>
    makeGateway(name, {
      ipv4: [`198.18.${i}.10`],
      ipv4DefaultEIP: `198.18.${i}.10`,
      selector: { matchLabels: { [label]: 'true' } },
    });
  return {
    gateways: [gateway('gwA', 1, 'a'), gateway('gwB', 2, 'b')],
    nodes: [
      makeNode('n1', { a: 'true' }),
      makeNode('n2', { a: 'true', b: 'true' }),
      makeNode('n3', n3b ? { a: 'true', b: 'true' } : { a: 'true' }),
      makeNode('n4', { b: 'true' }),
    ],
    policies: [makePolicy('ns', 'pa', { gateway: 'gwA' }), makePolicy('ns', 'pb', { gateway: 'gwB' })],
    clusterPolicies: [],
  };
}

/** Tunnels of the named nodes, each observed at the given instant. */
const seen = (at: Record<string, number>) => Object.entries(at).map(([n, t]) => makeTunnel(n, t));

describe('reconcileEgress across calls', () => {
  it('incremental: every call of a history equals a first call on deep copies', () => {
    const arb = arbCluster({ maxNodes: 8, maxPolicies: 12 }).chain((c) =>
      fc.record({
        c: fc.constant(c),
        rebalance: fc.oneof(
          { weight: 3, arbitrary: fc.constant(false) },
          { weight: 1, arbitrary: fc.constant(true) },
        ),
        steps: fc.array(arbStep(c.state.nodes.length, c.evictionTimeoutMs), { minLength: 1, maxLength: 16 }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ c, rebalance, steps }) => {
        const config = { evictionTimeoutMs: c.evictionTimeoutMs, rebalance };
        const reconcile = createEgressReconciler();
        let now = c.nowMs;
        let state = c.state;
        let changes = reconcile(state, config, now);
        expect(changes).toEqual(createEgressReconciler()(structuredClone(state), config, now));
        for (const [k, step] of steps.entries()) {
          if (step.applied) state = applyEgressChanges(state, changes);
          now += step.dt;
          state = advance(state, step, now, k);
          changes = reconcile(state, config, now);
          expect(changes).toEqual(createEgressReconciler()(structuredClone(state), config, now));
        }
      }),
    );
  });

  it('settings: a new eviction timeout or rebalance setting is honoured by the next call', () => {
    fc.assert(
      fc.property(arbCluster({ maxPolicies: 8 }), fc.integer({ min: 100, max: 10_000 }), (c, eviction) => {
        const reconcile = createEgressReconciler();
        const before = { evictionTimeoutMs: c.evictionTimeoutMs };
        const after = { evictionTimeoutMs: eviction, rebalance: true };
        reconcile(c.state, before, c.nowMs);
        expect(reconcile(c.state, after, c.nowMs)).toEqual(
          createEgressReconciler()(structuredClone(c.state), after, c.nowMs),
        );
        expect(reconcile(c.state, before, c.nowMs)).toEqual(
          createEgressReconciler()(structuredClone(c.state), before, c.nowMs),
        );
      }),
    );
  });

  it('shared reconciler: alternating between two clusters gives each its own result', () => {
    fc.assert(
      fc.property(arbCluster({ maxPolicies: 8 }), arbCluster({ maxPolicies: 8 }), (a, b) => {
        const config = { evictionTimeoutMs: a.evictionTimeoutMs };
        const first = reconcileEgress(a.state, config, a.nowMs);
        reconcileEgress(b.state, config, b.nowMs);
        expect(reconcileEgress(a.state, config, a.nowMs)).toEqual(first);
      }),
    );
  });

  it('a gateway whose EIP moved is placed again on the next call, seeing the other gateways move', () => {
    // gwA selects n1-n3 and gwB n2-n4. gwA's EIP leaves n1 for n2, and that write fails; then gwB's
    // EIP loses n4. The next call must count gwA's EIP on n2 and put gwB's on n3, as a first call does.
    const E = 3_000;
    const config = { evictionTimeoutMs: E };
    const reconcile = createEgressReconciler();
    const holders = (c: ReturnType<typeof reconcile>) =>
      Object.fromEntries(c.policies.map((p) => [p.name, p.status.node]));

    // Only n1 and n4 are up at first: gwA's EIP goes to n1, gwB's to n4.
    const t0 = 1_000_000;
    let state: EgressState = { ...twoGateways(true), tunnels: seen({ n1: t0, n4: t0 }) };
    let changes = reconcile(state, config, t0);
    expect(holders(changes)).toEqual({ pa: 'n1', pb: 'n4' });
    state = applyEgressChanges(state, changes);
    const t1 = t0 + 1_000;
    state = { ...state, tunnels: seen({ n1: t1, n2: t1, n3: t1, n4: t1 }) };
    state = applyEgressChanges(state, reconcile(state, config, t1));
    // n1 stops: gwA's EIP moves to n2 (n2 and n3 hold nothing; n2 comes first). The write fails.
    const t2 = t1 + E + 1;
    state = { ...state, tunnels: seen({ n1: t1, n2: t2, n3: t2, n4: t2 }) };
    changes = reconcile(state, config, t2);
    expect(changes.events.filter((e) => e.reason === 'EIPMoved').map((e) => [e.from, e.to])).toEqual([
      ['n1', 'n2'],
    ]);
    // n4 stops too: gwB's EIP goes to n3, because n2 now holds gwA's.
    const t3 = t2 + E + 1;
    state = { ...state, tunnels: seen({ n1: t1, n2: t3, n3: t3, n4: t2 }) };
    changes = reconcile(state, config, t3);
    expect(changes).toEqual(createEgressReconciler()(structuredClone(state), config, t3));
    expect(holders(changes)).toEqual({ pa: 'n2', pb: 'n3' });
  });

  it('a gateway placed alone counts the EIPs that unchanged gateways keep on its nodes', () => {
    // gwA selects n1-n3 and gwB n2 and n4; gwB's EIP sits on n2. When n1 stops, only gwA is placed
    // again, and its EIP must go to n3, not to n2 which already holds gwB's.
    const E = 3_000;
    const config = { evictionTimeoutMs: E };
    const reconcile = createEgressReconciler();
    const t0 = 1_000_000;
    let state: EgressState = { ...twoGateways(false), tunnels: seen({ n1: t0, n2: t0 }) };
    state = applyEgressChanges(state, reconcile(state, config, t0));
    const t1 = t0 + 1_000;
    state = { ...state, tunnels: seen({ n1: t1, n2: t1, n3: t1, n4: t1 }) };
    state = applyEgressChanges(state, reconcile(state, config, t1));
    expect(Object.fromEntries(state.policies.map((p) => [p.metadata?.name, p.status?.node]))).toEqual({
      pa: 'n1',
      pb: 'n2',
    });
    // A heartbeat round with nothing to write: the outcomes of this structure are known.
    state = { ...state, tunnels: seen({ n1: t1, n2: t1 + 500, n3: t1 + 500, n4: t1 + 500 }) };
    expect(reconcile(state, config, t1 + 500).gateways).toEqual([]);
    const t2 = t1 + E + 1;
    state = { ...state, tunnels: seen({ n1: t1, n2: t2, n3: t2, n4: t2 }) };
    const changes = reconcile(state, config, t2);
    expect(changes.events.filter((e) => e.reason === 'EIPMoved').map((e) => [e.from, e.to])).toEqual([
      ['n1', 'n3'],
    ]);
    expect(changes).toEqual(createEgressReconciler()(structuredClone(state), config, t2));
  });

  it('overlapping pools: a write to one gateway resolves the others again too, so no address is held twice', () => {
    // gw2's pool borrows gw1's address. Both policies want 198.18.1.10; p1 gets it, p2 an
    // EIPConflict. When a write changes gw2's status alone, resolving gw2 alone would hand it out twice.
    const E = 3_000;
    const config = { evictionTimeoutMs: E };
    const onB = { selector: { matchLabels: { b: 'true' } } };
    const gateways = [
      makeGateway('gw1', { ipv4: ['198.18.1.10'], ipv4DefaultEIP: '198.18.1.10' }),
      makeGateway('gw2', { ipv4: ['198.18.2.10', '198.18.1.10'], ipv4DefaultEIP: '198.18.2.10', ...onB }),
      // Two more gateways, so that a write to one of four is patched rather than rebuilt.
      makeGateway('gw3', { ipv4: ['198.18.3.10'], ipv4DefaultEIP: '198.18.3.10' }),
      makeGateway('gw4', { ipv4: ['198.18.4.10'], ipv4DefaultEIP: '198.18.4.10' }),
    ];
    const policies = [
      makePolicy('ns', 'p1', { gateway: 'gw1' }),
      makePolicy('ns', 'p2', { gateway: 'gw2', ipv4: '198.18.1.10' }),
    ];
    const reconcile = createEgressReconciler();
    const t0 = 1_000_000;
    let state: EgressState = {
      gateways,
      nodes: [makeNode('n1'), makeNode('n2', { b: 'true' })],
      policies,
      clusterPolicies: [],
      tunnels: [makeTunnel('n1', t0), makeTunnel('n2', t0)],
    };
    // n2 (gw2's only node) stops heartbeating: the second write changes gw2's status alone.
    const t1 = t0 + E + 1;
    for (const [now, tunnels] of [
      [t0, state.tunnels],
      [t1, [makeTunnel('n1', t1), state.tunnels[1] as TunnelObservation]],
      [t1 + 1, null],
    ] as const) {
      if (tunnels !== null) state = { ...state, tunnels: [...tunnels] };
      const changes = reconcile(state, config, now);
      expect(changes).toEqual(createEgressReconciler()(structuredClone(state), config, now));
      expect(changes.problems.filter((p) => p.reason === 'EIPConflict')).toHaveLength(1);
      state = applyEgressChanges(state, changes);
    }
    const holders = state.gateways.flatMap((g) =>
      (g.status?.nodeList ?? []).flatMap((n) => (n.eips ?? []).map((e) => e.ipv4)),
    );
    expect(holders.filter((a) => a === '198.18.1.10')).toHaveLength(1);
  });

  it('a replaced policy that was ignored as a duplicate changes nothing, and breaks nothing', () => {
    const config = { evictionTimeoutMs: 3_000 };
    const t0 = 1_000_000;
    const gateways = ['gw1', 'gw2', 'gw3', 'gw4', 'gw5'].map((name, i) =>
      makeGateway(name, { ipv4: [`198.18.${i + 1}.10`], ipv4DefaultEIP: `198.18.${i + 1}.10` }),
    );
    const first = makePolicy('ns', 'p', { gateway: 'gw1' });
    const duplicate = makePolicy('ns', 'p', { gateway: 'gw2' });
    let state: EgressState = {
      gateways,
      nodes: [makeNode('n1')],
      policies: [first, duplicate],
      clusterPolicies: [],
      tunnels: [makeTunnel('n1', t0)],
    };
    const reconcile = createEgressReconciler();
    state = applyEgressChanges(state, reconcile(state, config, t0));
    expect(reconcile(state, config, t0).policies).toEqual([]);
    const stale = {
      ...(state.policies[1] as EgressPolicyLike),
      status: { eip: { ipv4: '198.18.2.10' }, node: 'n1' },
    };
    state = { ...state, policies: [state.policies[0] as EgressPolicyLike, stale] };
    const changes = reconcile(state, config, t0 + 1);
    expect(changes).toEqual(createEgressReconciler()(structuredClone(state), config, t0 + 1));
    expect(changes.policies).toEqual([]);
  });
});
