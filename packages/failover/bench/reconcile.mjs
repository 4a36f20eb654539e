// Benchmark of reconcileEgress at scale, run from the built package (`npm run bench`).
// Case: N nodes, N/10 gateways of 10 nodes each, N EIPs (10 per gateway, dual stack), 4N policies,
// steady state written by a first reconcile; then one node's heartbeat expires.
// Two passes are timed:
// - the failover call: what a controller runs when the node's deadline passes. The previous call saw
//   the same objects 2 ms earlier, with the node still fresh (heartbeats do not replace gateways,
//   nodes or policies), so the engine reuses their resolution and every untouched gateway's outcome.
// - after the writes: the call that sees the failover's own status writes (one gateway's status and
//   its policies' statuses replaced): only that gateway is resolved again.
// - the full pass: a reconcile on a new structure, as after a node, gateway spec or policy spec
//   change, or a relist (a new reconciler each call; parsed pools, policy fields and status indexes
//   stay memoised per object). "first-call CPU" also parses everything.
// Each is also measured "out of cache": calls rotate over independent copies of the case whose data
// together is as large as the largest case, so no size gets its input from the CPU caches just
// because it is small (in a controller, informer traffic and JSON parsing run between reconciles).
// BENCH_SIZES=500,1000,2000,5000,10000 picks other node counts (multiples of 10).
// A hostile status is timed too: one gateway whose status.nodeList lists the same EIP on N nodes that
// do not exist (anyone allowed to write that status can write it); each call sees a new list, as after
// every such write. BENCH_NODELIST_SIZES=2500,20000,50000 picks other lengths.
import { Bench } from 'tinybench';
import { applyEgressChanges, createEgressReconciler, reconcileEgress } from '../dist/index.js';

const EVICTION = 3_000;

function ip4(n) {
  // 198.18.0.0/15 holds 131 072 addresses: plenty for these pools.
  const v = 0xc6120000 + n;
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function buildCase(nodes) {
  const gateways = nodes / 10;
  const state = { gateways: [], nodes: [], tunnels: [], policies: [], clusterPolicies: [] };
  for (let g = 0; g < gateways; g++) {
    const base = g * 16;
    state.gateways.push({
      metadata: { name: `gw-${g}` },
      spec: {
        ippools: {
          ipv4: [`${ip4(base)}-${ip4(base + 9)}`],
          ipv6: [`fd00:18::${(base).toString(16)}-fd00:18::${(base + 9).toString(16)}`],
          ipv4DefaultEIP: ip4(base),
        },
        nodeSelector: { selector: { matchLabels: { 'egress-pool': `gw-${g}` } } },
      },
    });
    for (let p = 0; p < 40; p++) {
      const explicit = p % 4 !== 3;
      state.policies.push({
        metadata: { name: `p-${g}-${p}`, namespace: `ns-${g % 50}` },
        spec: {
          egressGatewayName: `gw-${g}`,
          egressIP: explicit ? { ipv4: ip4(base + (p % 10)) } : { allocatorPolicy: 'rr' },
        },
      });
    }
  }
  for (let n = 0; n < nodes; n++) {
    const name = `node-${String(n).padStart(5, '0')}`;
    state.nodes.push({
      metadata: { name, labels: { 'egress-pool': `gw-${Math.floor(n / 10)}`, 'kubernetes.io/os': 'linux' } },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    state.tunnels.push({ tunnel: { metadata: { name }, status: { phase: 'Ready' } }, observedAt: 100_000 });
  }
  const t0 = 100_000;
  const written = applyEgressChanges(state, reconcileEgress(state, { evictionTimeoutMs: EVICTION }, t0));
  // One node stops heartbeating; all others were observed again just before now.
  const victim = written.gateways[0].status.nodeList.find((n) => (n.eips ?? []).length > 0).name;
  const now = t0 + EVICTION + 1;
  const failed = {
    ...written,
    tunnels: written.tunnels.map((t) =>
      t.tunnel.metadata.name === victim ? t : { ...t, observedAt: now - 500 },
    ),
  };
  const before = reconcileEgress(failed, { evictionTimeoutMs: EVICTION }, now - 2);
  if (before.events.length + before.gateways.length + before.policies.length > 0)
    throw new Error('benchmark case: 2 ms before the failure there must be nothing to do');
  const check = reconcileEgress(failed, { evictionTimeoutMs: EVICTION }, now);
  const moved = check.events.filter((e) => e.reason === 'EIPMoved').length;
  if (moved === 0 || check.tunnels.length !== 1) throw new Error('benchmark case does not fail over');
  // The failover's writes landed (gateway status, policy statuses, tunnel phase): nothing left to do.
  const written2 = applyEgressChanges(failed, check);
  const after = reconcileEgress(written2, { evictionTimeoutMs: EVICTION }, now);
  if (after.gateways.length + after.policies.length + after.tunnels.length > 0)
    throw new Error('benchmark case: after the writes there must be nothing to write');
  return {
    failed,
    written: written2,
    now,
    moved,
    policies: state.policies.length,
    eips: gateways * 10,
    gateways,
  };
}

const sizes = (process.env.BENCH_SIZES ?? '50,500,5000').split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 10 || n % 10 !== 0)) {
  throw new Error('BENCH_SIZES: node counts must be multiples of 10');
}
const config = { evictionTimeoutMs: EVICTION };
const largest = Math.max(...sizes);
const cases = new Map(sizes.map((n) => [n, buildCase(n)]));

/** Median and p99 (ms) of one tinybench task. */
async function measure(fn, hooks = {}, options = {}) {
  const bench = new Bench({ time: 3_000, warmupTime: 500, ...options });
  bench.add('task', fn, hooks);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`benchmark task: ${r.state}`);
  return { median: r.latency.p50, p99: r.latency.p99, samples: r.latency.samplesCount };
}

/** Independent deep copies of a case, together about as large as the largest case. */
function copiesOf(c, n) {
  return Array.from({ length: Math.max(2, Math.ceil(largest / n)) }, () => structuredClone(c.failed));
}

const results = new Map();
for (const n of sizes) {
  const c = cases.get(n);
  const r = {};
  // Failover call: each timed call follows the call at now - 2 ms (the node still fresh).
  const failover = createEgressReconciler();
  r.failover = await measure(() => failover(c.failed, config, c.now), {
    beforeEach: () => {
      failover(c.failed, config, c.now - 2);
    },
  });
  // After the writes: the call that sees the failover's own status writes (one gateway and its
  // policies replaced), each timed call following a failover call on the state before them.
  const writeBack = createEgressReconciler();
  r.writeBack = await measure(() => writeBack(c.written, config, c.now), {
    beforeEach: () => {
      writeBack(c.failed, config, c.now);
    },
  });
  // Full pass: a new reconciler each call, so nothing of the previous structure is reused.
  r.full = await measure(() => createEgressReconciler()(c.failed, config, c.now));
  {
    // Out of cache: each copy has its own reconciler, which last saw that copy at the failure too
    // (the same work as after the 2 ms earlier call: the failed gateway is placed again, no other).
    const copies = copiesOf(c, n);
    const reconcilers = copies.map(() => createEgressReconciler());
    for (const [k, copy] of copies.entries()) reconcilers[k](copy, config, c.now);
    let i = 0;
    r.failoverCold = await measure(() => {
      reconcilers[i](copies[i], config, c.now);
      i = (i + 1) % copies.length;
    });
    r.fullCold = await measure(() => {
      createEgressReconciler()(copies[i], config, c.now);
      i = (i + 1) % copies.length;
    });
    r.copies = copies.length;
  }
  // CPU time of a first call on objects nobody has seen (a restart): everything parsed.
  const clones = Array.from({ length: 3 }, () => structuredClone(c.failed));
  const k0 = process.cpuUsage();
  for (const clone of clones) createEgressReconciler()(clone, config, c.now);
  const ku = process.cpuUsage(k0);
  r.firstCpu = (ku.user + ku.system) / 1000 / clones.length;
  results.set(n, r);
}

/** A cluster of 3 nodes whose one gateway's status lists one EIP on `n` unknown nodes. */
function hostileStatusCase(n) {
  const nodeList = Array.from({ length: n }, (_, i) => ({
    name: `ghost-${i}`,
    status: 'Ready',
    eips: [{ ipv4: '198.18.0.10', ipv6: '', policies: [{ name: 'p', namespace: 'ns' }] }],
  }));
  const gateway = {
    metadata: { name: 'gw' },
    spec: {
      ippools: { ipv4: ['198.18.0.10-198.18.0.20'], ipv4DefaultEIP: '198.18.0.10' },
      nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
    },
  };
  const names = ['n1', 'n2', 'n3'];
  const state = {
    gateways: [],
    nodes: names.map((name) => ({ metadata: { name, labels: { egress: 'true' } } })),
    tunnels: names.map((name) => ({ tunnel: { metadata: { name } }, observedAt: 0 })),
    policies: [{ metadata: { name: 'p', namespace: 'ns' }, spec: { egressGatewayName: 'gw' } }],
    clusterPolicies: [],
  };
  const reconcile = createEgressReconciler();
  // A new list object per call: the status index is memoised per list, and a writer replaces it.
  const call = () =>
    reconcile({ ...state, gateways: [{ ...gateway, status: { nodeList: [...nodeList] } }] }, config, 1);
  const r = call();
  if (!r.events.some((e) => e.reason === 'DuplicateOwner') || r.gateways.length !== 1)
    throw new Error('hostile status case: expected a DuplicateOwner event and a rewritten status');
  return call;
}

const nodeListSizes = (process.env.BENCH_NODELIST_SIZES ?? '2500,20000,50000').split(',').map(Number);
const hostile = new Map();
for (const n of nodeListSizes) {
  const call = hostileStatusCase(n);
  // Few iterations at least: before the fix one call took seconds at 50 000 entries.
  hostile.set(n, await measure(call, {}, { time: 2_000, iterations: 5, warmupIterations: 1, warmupTime: 0 }));
}

const fmt = (x) => x.toFixed(2);
const ratio = (rows, pick) => {
  let prev;
  return rows.map((n) => {
    const v = pick(results.get(n));
    const out = prev === undefined ? '-' : (v / prev.v).toFixed(1);
    prev = { v };
    return out;
  });
};
const sizeRatios = sizes.map((n, i) => (i === 0 ? '-' : (n / sizes[i - 1]).toFixed(1)));
const failoverRatios = ratio(sizes, (r) => r.failover.median);
const failoverColdRatios = ratio(sizes, (r) => r.failoverCold.median);
const fullRatios = ratio(sizes, (r) => r.full.median);
const fullColdRatios = ratio(sizes, (r) => r.fullCold.median);
const label = (n) => {
  const c = cases.get(n);
  return `${n} nodes / ${c.gateways} gw / ${c.eips} EIPs / ${c.policies} policies`;
};

console.log('Failover call (the node just expired; the previous call saw the same objects):');
console.table(
  sizes.map((n, i) => {
    const r = results.get(n);
    return {
      case: label(n),
      'median ms': fmt(r.failover.median),
      'p99 ms': fmt(r.failover.p99),
      'µs per node': fmt((r.failover.median * 1000) / n),
      'out-of-cache median ms': `${fmt(r.failoverCold.median)} (${r.copies} copies)`,
      'out-of-cache µs per node': fmt((r.failoverCold.median * 1000) / n),
      'size ratio': sizeRatios[i],
      'median ratio': failoverRatios[i],
      'out-of-cache ratio': failoverColdRatios[i],
    };
  }),
);
const writeBackRatios = ratio(sizes, (r) => r.writeBack.median);
console.log("After the failover's writes (one gateway and its policies replaced):");
console.table(
  sizes.map((n, i) => {
    const r = results.get(n);
    return {
      case: label(n),
      'median ms': fmt(r.writeBack.median),
      'p99 ms': fmt(r.writeBack.p99),
      'µs per node': fmt((r.writeBack.median * 1000) / n),
      'size ratio': sizeRatios[i],
      'median ratio': writeBackRatios[i],
    };
  }),
);
console.log('Full pass (a new structure: a node, gateway spec or policy spec changed, or a relist):');
console.table(
  sizes.map((n, i) => {
    const r = results.get(n);
    const c = cases.get(n);
    return {
      case: label(n),
      'median ms': fmt(r.full.median),
      'p99 ms': fmt(r.full.p99),
      'µs per policy': fmt((r.full.median * 1000) / c.policies),
      'out-of-cache median ms': `${fmt(r.fullCold.median)} (${r.copies} copies)`,
      'out-of-cache µs per policy': fmt((r.fullCold.median * 1000) / c.policies),
      'first-call cpu ms': fmt(r.firstCpu),
      'size ratio': sizeRatios[i],
      'median ratio': fullRatios[i],
      'out-of-cache ratio': fullColdRatios[i],
    };
  }),
);
console.log('Hostile status (one gateway lists one EIP on N unknown nodes; each call sees a new list):');
console.table(
  nodeListSizes.map((n, i) => {
    const r = hostile.get(n);
    const prev = i === 0 ? undefined : hostile.get(nodeListSizes[i - 1]);
    return {
      'nodeList entries': n,
      'median ms': fmt(r.median),
      'p99 ms': fmt(r.p99),
      'µs per entry': fmt((r.median * 1000) / n),
      'size ratio': i === 0 ? '-' : (n / nodeListSizes[i - 1]).toFixed(1),
      'median ratio': prev === undefined ? '-' : (r.median / prev.median).toFixed(1),
    };
  }),
);
console.log(
  `load average while running: ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const big = results.get(5000);
if (big !== undefined) {
  const verdict = (ms) => `${ms < 50 ? 'met' : 'NOT met'} (${fmt(ms)} ms)`;
  console.log(
    `target: 5000-node case median < 50 ms -> failover call ${verdict(big.failover.median)}; after its writes ${verdict(big.writeBack.median)}; full pass ${verdict(big.full.median)}`,
  );
}
