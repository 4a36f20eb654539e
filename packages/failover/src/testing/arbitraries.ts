import fc from 'fast-check';
import type {
  EgressGatewayLike,
  EgressPolicyLike,
  EgressState,
  NodeLike,
  TunnelObservation,
} from '../egress/types.js';
import type { Fault, SimulationSettings } from './simulator.js';

/**
 * fast-check arbitraries for failover property tests. They build plain CRD-shaped objects, so they
 * also drive tests of operators that embed the engine. Names are small and meaningful (`node3`,
 * `gw1`, `ns-a/p2`) so shrunk counterexamples read well.
 */

/** Sizes of a generated cluster. */
export interface ClusterShape {
  readonly maxNodes?: number;
  readonly maxGateways?: number;
  readonly maxPolicies?: number;
  /** Eviction timeout the generated heartbeat ages are spread around (ms). Default 3000. */
  readonly evictionTimeoutMs?: number;
}

/** A generated cluster at one instant: state (no status written yet), eviction timeout and now. */
export interface ClusterCase {
  readonly state: EgressState;
  readonly evictionTimeoutMs: number;
  readonly nowMs: number;
}

const ZONES = ['a', 'b'] as const;

/** Nodes `node1..nodeN`: label `egress` (mostly "true"), a `zone`, Ready (mostly true). */
export function arbNodes(maxNodes = 6): fc.Arbitrary<NodeLike[]> {
  return fc
    .array(
      fc.record({
        egress: fc.boolean(),
        gateway: fc.boolean(),
        zone: fc.constantFrom(...ZONES),
        ready: fc.oneof(
          { weight: 5, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
      }),
      { minLength: 1, maxLength: maxNodes },
    )
    .map((specs) =>
      specs.map((s, i) => ({
        metadata: { name: `node${i + 1}`, labels: { egress: String(s.egress || s.gateway), zone: s.zone } },
        status: {
          conditions: [{ type: 'Ready', status: s.ready ? 'True' : 'False' }],
          addresses: [{ type: 'InternalIP', address: `192.0.2.${i + 1}` }],
        },
      })),
    );
}

/**
 * Gateways `gw1..gwN` with disjoint pools (gateway i uses 198.18.i.0/24 and fd00:18:i::/64): single
 * addresses, ranges and small CIDRs, dual or single stack, default EIP present or not, selecting
 * `egress=true` or a zone.
 */
export function arbGateways(maxGateways = 3): fc.Arbitrary<EgressGatewayLike[]> {
  const one = (i: number) =>
    fc
      .record({
        size: fc.integer({ min: 1, max: 6 }),
        form: fc.constantFrom('singles', 'range', 'cidr'),
        dual: fc.boolean(),
        withDefault: fc.oneof(
          { weight: 4, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
        defaultAt: fc.nat(),
        selector: fc.constantFrom<'egress' | 'zone-a' | 'zone-b'>('egress', 'egress', 'zone-a', 'zone-b'),
        clusterDefault: fc.boolean(),
        // Sometimes borrow the previous gateway's first address: overlapping pools, a config error the
        // engine must survive without putting one address on two nodes.
        borrow: fc.oneof(
          { weight: 3, arbitrary: fc.constant(false) },
          { weight: 1, arbitrary: fc.constant(true) },
        ),
      })
      .map((g): EgressGatewayLike => {
        const size = g.form === 'cidr' ? 4 : g.size;
        const v4 =
          g.form === 'singles'
            ? Array.from({ length: size }, (_, k) => `198.18.${i}.${10 + k}`)
            : g.form === 'range'
              ? [`198.18.${i}.10-198.18.${i}.${9 + size}`]
              : [`198.18.${i}.16/30`];
        if (g.borrow && i > 1) v4.push(`198.18.${i - 1}.10`);
        const v6 = g.dual ? [`fd00:18:${i}::10-fd00:18:${i}::${(15 + size).toString(16)}`] : [];
        const d = g.defaultAt % size;
        const first = g.form === 'cidr' ? 16 : 10;
        return {
          metadata: { name: `gw${i}` },
          spec: {
            ippools: {
              ipv4: v4,
              ipv6: v6,
              ...(g.withDefault ? { ipv4DefaultEIP: `198.18.${i}.${first + d}` } : {}),
            },
            nodeSelector: {
              selector:
                g.selector === 'egress'
                  ? { matchLabels: { egress: 'true' } }
                  : { matchExpressions: [{ key: 'zone', operator: 'In', values: [g.selector.slice(5)] }] },
            },
            clusterDefault: i === 1 && g.clusterDefault,
          },
        };
      });
  return fc
    .integer({ min: 1, max: maxGateways })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => one(i + 1))));
}

/**
 * Policies for the given gateways: explicit EIPs from the pool (sometimes outside it), default and
 * `rr` allocation, useNodeIP, missing or unknown gateway names; namespaced and cluster scoped.
 */
export function arbPolicies(
  gateways: readonly EgressGatewayLike[],
  maxPolicies = 10,
): fc.Arbitrary<{ policies: EgressPolicyLike[]; clusterPolicies: EgressPolicyLike[] }> {
  const gwNames = gateways.map((g) => g.metadata?.name ?? '');
  const one = fc.record({
    cluster: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    ns: fc.constantFrom('ns-a', 'ns-b'),
    gateway: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...gwNames) },
      { weight: 1, arbitrary: fc.constantFrom('', 'gw-missing') },
    ),
    how: fc.constantFrom(
      'default',
      'rr',
      'rr',
      'explicit',
      'explicit6',
      'pair',
      'borrowed',
      'node',
      'outside',
    ),
    pick: fc.nat(5),
    pick6: fc.nat(5),
  });
  return fc.array(one, { maxLength: maxPolicies }).map((specs) => {
    const policies: EgressPolicyLike[] = [];
    const clusterPolicies: EgressPolicyLike[] = [];
    specs.forEach((s, i) => {
      const gw = gateways.find((g) => g.metadata?.name === s.gateway);
      const v4 = gw?.spec?.ippools?.ipv4?.[0] ?? '';
      const gi = Number(s.gateway.slice(2)) || 1;
      const base = v4.endsWith('/30') ? 16 : 10;
      const egressIP =
        s.how === 'node'
          ? { useNodeIP: true }
          : s.how === 'explicit'
            ? { ipv4: `198.18.${gi}.${base + (s.pick % 4)}` }
            : s.how === 'explicit6'
              ? { ipv6: `fd00:18:${gi}::${(16 + (s.pick % 4)).toString(16)}` }
              : s.how === 'pair'
                ? {
                    ipv4: `198.18.${gi}.${base + (s.pick % 4)}`,
                    ipv6: `fd00:18:${gi}::${(16 + (s.pick6 % 4)).toString(16)}`,
                  }
                : s.how === 'borrowed'
                  ? { ipv4: `198.18.${Math.max(1, gi - 1)}.10` }
                  : s.how === 'outside'
                    ? { ipv4: '203.0.113.7' }
                    : { allocatorPolicy: s.how };
      const spec = { ...(s.gateway !== '' ? { egressGatewayName: s.gateway } : {}), egressIP };
      if (s.cluster) clusterPolicies.push({ metadata: { name: `cp${i + 1}` }, spec });
      else policies.push({ metadata: { name: `p${i + 1}`, namespace: s.ns }, spec });
    });
    return { policies, clusterPolicies };
  });
}

/**
 * Tunnels for the nodes as the controller observed them at `nowMs`: heartbeat ages spread around the
 * eviction timeout (including exactly on the boundary), never heartbeated, draining, or no tunnel.
 */
export function arbTunnels(
  nodes: readonly NodeLike[],
  evictionTimeoutMs: number,
  nowMs: number,
): fc.Arbitrary<TunnelObservation[]> {
  const one = fc.record({
    age: fc.oneof(
      fc.integer({ min: 0, max: 2 * evictionTimeoutMs }),
      fc.constantFrom(evictionTimeoutMs, evictionTimeoutMs + 1),
      fc.constant(null),
    ),
    draining: fc.oneof(
      { weight: 6, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    phase: fc.constantFrom('Pending', 'Ready', 'Ready', 'HeartbeatTimeout'),
    exists: fc.oneof(
      { weight: 9, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
  });
  return fc.array(one, { minLength: nodes.length, maxLength: nodes.length }).map((specs) =>
    specs.flatMap((s, i) => {
      if (!s.exists) return [];
      const name = nodes[i]?.metadata?.name as string;
      const observedAt = s.age === null ? null : nowMs - s.age;
      return [
        {
          tunnel: { metadata: { name }, status: { phase: s.phase } },
          observedAt,
          ...(s.draining ? { draining: true } : {}),
        },
      ];
    }),
  );
}

/** A whole cluster at one instant (no status written yet: run the engine once to get a written one). */
export function arbCluster(shape: ClusterShape = {}): fc.Arbitrary<ClusterCase> {
  const evictionTimeoutMs = shape.evictionTimeoutMs ?? 3_000;
  return fc
    .tuple(
      arbNodes(shape.maxNodes),
      arbGateways(shape.maxGateways),
      fc.integer({ min: 1_000_000, max: 2_000_000 }),
    )
    .chain(([nodes, gateways, nowMs]) =>
      fc
        .tuple(arbPolicies(gateways, shape.maxPolicies), arbTunnels(nodes, evictionTimeoutMs, nowMs))
        .map(([{ policies, clusterPolicies }, tunnels]) => ({
          state: { gateways, nodes, tunnels, policies, clusterPolicies },
          evictionTimeoutMs,
          nowMs,
        })),
    );
}

/**
 * A heartbeat schedule of one agent: send instants with jitter, write latency, a crash, partitions,
 * skew. `observedAt` is never empty: the agent's first heartbeat is always delivered (faults begin
 * after it), so "the node whose heartbeats stop" always has a last heartbeat.
 */
export interface HeartbeatSchedule {
  /** Instants (controller clock, ms) at which the controller observes each heartbeat; sorted, never empty. */
  readonly observedAt: readonly number[];
  /** Agent clock offset against the controller (ms). */
  readonly skewMs: number;
  /** Instant the agent crashed (after its first heartbeat was sent), or `null`. */
  readonly crashAt: number | null;
  /** Intervals during which the agent's writes were lost (none covers the first heartbeat). */
  readonly partitions: ReadonlyArray<readonly [number, number]>;
}

/**
 * Heartbeat schedules: sends every `updatePeriodMs x (1 + u x jitter)` from a random phase within the
 * first period, each observed after a write latency, with an optional crash and partitions during
 * which writes are lost, and a clock skew (which a correct controller ignores: it only uses
 * `observedAt`). The first heartbeat always lands: every schedule has at least one. Replay schedules
 * through the engine with `replayHeartbeats`.
 */
export function arbHeartbeatSchedule(opts: {
  readonly updatePeriodMs: number;
  readonly jitter: number;
  readonly durationMs: number;
  readonly maxLatencyMs?: number;
  readonly maxSkewMs?: number;
}): fc.Arbitrary<HeartbeatSchedule> {
  const maxLatency = opts.maxLatencyMs ?? 100;
  return fc
    .record({
      phase: fc.integer({ min: 0, max: Math.max(0, Math.min(opts.updatePeriodMs, opts.durationMs)) }),
      jitters: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 64 }),
      latencies: fc.array(fc.integer({ min: 0, max: maxLatency }), { minLength: 1, maxLength: 64 }),
      crashAfter: fc.option(fc.integer({ min: 1, max: Math.max(1, opts.durationMs) }), { nil: null }),
      partitions: fc.array(
        fc.tuple(
          fc.integer({ min: 1, max: Math.max(1, opts.durationMs) }),
          fc.integer({ min: 1, max: 4 * opts.updatePeriodMs }),
        ),
        { maxLength: 2 },
      ),
      skewMs: fc.integer({ min: -(opts.maxSkewMs ?? 5_000), max: opts.maxSkewMs ?? 5_000 }),
    })
    .map((r) => {
      // Faults are drawn as offsets after the first send, so that one always lands.
      const crashAt = r.crashAfter === null ? null : r.phase + r.crashAfter;
      const partitions = r.partitions.map(
        ([after, len]) => [r.phase + after, r.phase + after + len] as const,
      );
      const observedAt: number[] = [];
      let t = r.phase;
      for (let k = 0; t <= opts.durationMs; k++) {
        if (crashAt !== null && t >= crashAt) break;
        if (!partitions.some(([a, b]) => t >= a && t < b)) {
          observedAt.push(Math.round(t + (r.latencies[k % r.latencies.length] as number)));
        }
        t += opts.updatePeriodMs * (1 + (r.jitters[k % r.jitters.length] as number) * opts.jitter);
      }
      observedAt.sort((a, b) => a - b);
      return { observedAt, skewMs: r.skewMs, crashAt, partitions };
    });
}

/** Simulator settings around sane and unsafe values, both modes. */
export function arbSimulationSettings(): fc.Arbitrary<SimulationSettings> {
  return fc.record({
    tunnelUpdatePeriod: fc.constantFrom(0.5, 1, 2, 5),
    tunnelMonitorPeriod: fc.constantFrom(1, 5, 10),
    eipEvictionTimeout: fc.constantFrom(1, 3, 5, 15),
    mode: fc.constantFrom<'poll' | 'deadline'>('poll', 'deadline'),
    jitter: fc.constantFrom(0, 0.2, 0.5),
    seed: fc.nat(),
  });
}

/** One fault (crash, partition, pause, drain) at a time within `[fromMs, toMs]`. */
export function arbFault(fromMs: number, toMs: number): fc.Arbitrary<Fault> {
  return fc.record({
    atMs: fc.integer({ min: fromMs, max: toMs }),
    kind: fc.constantFrom<Fault['kind']>('crash', 'partition', 'pause', 'drain'),
  });
}
