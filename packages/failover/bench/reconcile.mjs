// Benchmark of reconcileEgress at scale, run from the built package (`npm run bench`).
// Case: N nodes, N/10 gateways of 10 nodes each, N EIPs (10 per gateway, dual stack), 4N policies,
// steady state written by a first reconcile, then one node's heartbeat expires and the measured call
// computes the failover. Prints medians and the scaling ratio between sizes.
// Each size is also measured "out of cache": the calls rotate over independent copies of the case
// whose data together is as large as the largest case, so no size gets its input from the CPU caches
// just because it is small (in a controller, informer traffic and JSON parsing run between reconciles).
// BENCH_SIZES=500,1000,2000,5000,10000 picks other node counts (multiples of 10).
import { Bench } from 'tinybench';
import { applyEgressChanges, reconcileEgress } from '../dist/index.js';

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
  const check = reconcileEgress(failed, { evictionTimeoutMs: EVICTION }, now);
  const moved = check.events.filter((e) => e.reason === 'EIPMoved').length;
  if (moved === 0 || check.tunnels.length !== 1) throw new Error('benchmark case does not fail over');
  return { failed, now, moved, policies: state.policies.length, eips: gateways * 10, gateways };
}

const sizes = (process.env.BENCH_SIZES ?? '50,500,5000').split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 10 || n % 10 !== 0)) {
  throw new Error('BENCH_SIZES: node counts must be multiples of 10');
}
const bench = new Bench({ time: 3_000, warmupTime: 500 });
const cases = new Map();
const largest = Math.max(...sizes);
for (const n of sizes) {
  const c = buildCase(n);
  cases.set(n, c);
  bench.add(`${n} nodes`, () => {
    reconcileEgress(c.failed, { evictionTimeoutMs: EVICTION }, c.now);
  });
}
await bench.run();
// Out of cache: one size at a time, so only its copies are alive.
const outOfCache = new Map();
for (const n of sizes) {
  const c = cases.get(n);
  const copies = Array.from({ length: Math.max(2, Math.ceil(largest / n)) }, () => structuredClone(c.failed));
  for (const copy of copies) reconcileEgress(copy, { evictionTimeoutMs: EVICTION }, c.now); // memos
  let i = 0;
  const rotating = new Bench({ time: 3_000, warmupTime: 500 });
  rotating.add(`${n} nodes`, () => {
    reconcileEgress(copies[i], { evictionTimeoutMs: EVICTION }, c.now);
    i = (i + 1) % copies.length;
  });
  await rotating.run();
  const r = rotating.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`${n} nodes out of cache: ${r.state}`);
  outOfCache.set(n, { median: r.latency.p50, copies: copies.length });
}

const rows = [];
let previous;
let previousCold;
let previousSize;
for (const task of bench.tasks) {
  const n = Number(task.name.split(' ')[0]);
  const c = cases.get(n);
  const r = task.result;
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`);
  const median = r.latency.p50;
  const ooc = outOfCache.get(n);
  // CPU time per call, less sensitive than wall time to other processes on a shared machine.
  const runs = n >= 5_000 ? 10 : 50;
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) reconcileEgress(c.failed, { evictionTimeoutMs: EVICTION }, c.now);
  const cu = process.cpuUsage(c0);
  // Cold: every object freshly parsed (a restart, or a full relist), so no per-object memo helps.
  const clones = Array.from({ length: 3 }, () => structuredClone(c.failed));
  const k0 = process.cpuUsage();
  for (const clone of clones) reconcileEgress(clone, { evictionTimeoutMs: EVICTION }, c.now);
  const ku = process.cpuUsage(k0);
  rows.push({
    case: `${n} nodes / ${c.gateways} gw / ${c.eips} EIPs / ${c.policies} policies`,
    'median ms': median.toFixed(2),
    'p99 ms': r.latency.p99.toFixed(2),
    'cpu ms/call': ((cu.user + cu.system) / 1000 / runs).toFixed(2),
    'cold cpu ms/call': ((ku.user + ku.system) / 1000 / clones.length).toFixed(2),
    samples: r.latency.samplesCount ?? r.latency.samples?.length ?? '-',
    'EIPs moved': c.moved,
    'µs per policy': ((median * 1000) / c.policies).toFixed(2),
    'out-of-cache median ms': `${ooc.median.toFixed(2)} (${ooc.copies} copies)`,
    'out-of-cache µs per policy': ((ooc.median * 1000) / c.policies).toFixed(2),
    'size ratio': previousSize === undefined ? '-' : (n / previousSize).toFixed(1),
    'median ratio': previous === undefined ? '-' : (median / previous).toFixed(1),
    'out-of-cache ratio': previousCold === undefined ? '-' : (ooc.median / previousCold).toFixed(1),
  });
  previous = median;
  previousCold = ooc.median;
  previousSize = n;
}
console.table(rows);
console.log(
  `load average while running: ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
const big = rows.find((r) => r.case.startsWith('5000 nodes'));
if (big !== undefined) {
  console.log(
    `target: 5000-node case median < 50 ms -> ${Number(big['median ms']) < 50 ? 'met' : 'NOT met'} (${big['median ms']} ms)`,
  );
}
