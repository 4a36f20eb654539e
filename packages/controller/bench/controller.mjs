// Failover benchmark of @egressgateway/controller (run from the built dist: `npm run bench`).
//
// Three processes: the embedded API server (tools/bench/apiserver-child.mjs), the controller
// (bench/controller-child.mjs, the process whose RSS and CPU are reported), and this one, which
// plays N agents heartbeating through the API over keep-alive HTTP, seeds the cluster and judges
// the failover. For each N: N Nodes, N/50 EgressGateways of 50 nodes each, 4 EIPs and 4 policies
// (one explicit EIP each) per gateway; the controller creates and allocates the N tunnels, the
// agents heartbeat every PERIOD_MS (spread evenly, so N/5 writes/s), every tunnel goes Ready and
// every policy is placed; then a steady window; then 10 % of the agents (half of them EIP holders)
// stop heartbeating at once and we wait until every one is detected and every moved EIP written.
//
// Env: EGW_BENCH_SIZES (default "1000,5000"); EGW_BENCH_HEAPSNAPSHOT=<dir> writes a heap snapshot
// of the controller after the steady window; EGW_BENCH_CONTROLLER_ARGS adds node flags to it.
import { fileURLToPath } from 'node:url';
import { customResourceDefinitions } from '@egressgateway/crds';
import { binNodeFlags, bundleChild } from '../../../tools/bench/bundle.mjs';
import {
  ApiCaller,
  askOnce,
  debug,
  fmt,
  forkChild,
  mb,
  percentile,
  pool,
  sleep,
  stopChild,
} from '../../../tools/bench/harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
// The controller child runs bundled, like the shipped bin (dist/bin.js); EGW_BENCH_UNBUNDLED=1
// runs it from the unbundled library build instead, to compare.
const childScript = process.env.EGW_BENCH_UNBUNDLED
  ? `${here}controller-child.mjs`
  : await bundleChild(`${here}controller-child.mjs`, `${here}dist/controller-child.mjs`);
// The node flags of the shipped bin (its shebang), so the child runs with the same V8 settings.
const binFlags = binNodeFlags(`${here}../dist/bin.js`);
const SIZES = (process.env.EGW_BENCH_SIZES ?? '1000,5000').split(',').map(Number);
const PERIOD_MS = 5000; // tunnelUpdatePeriod: N/5 heartbeat writes per second
const EVICT_MS = 10_000; // eipEvictionTimeout: two periods
const MONITOR_MS = 10_000; // tunnelMonitorPeriod: only a safety resync in deadline mode
const NODES_PER_GATEWAY = 50;
const EIPS_PER_GATEWAY = 4;
const KILL_FRACTION = 0.1;
const STEADY_MS = 10_000;
const GROUP = '/apis/egressgateway.spidernet.io/v1beta1';

let http;
const call = (...a) => http.call(...a);

// ---------------------------------------------------------------- child processes
const startApiServer = () => forkChild(`${here}../../../tools/bench/apiserver-child.mjs`);

function startControllerChild() {
  // EGW_BENCH_CONTROLLER_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the controller alone.
  const execArgv = process.env.EGW_BENCH_CONTROLLER_ARGS?.split(' ').filter(Boolean) ?? [];
  return forkChild(childScript, ['--expose-gc', ...binFlags, ...execArgv]);
}

// ---------------------------------------------------------------- the simulated agents
class Agents {
  paused = new Set();
  lastAck = new Map(); // name -> { sentAt, ackAt }
  latencies = [];
  recordLatency = false;
  errors = 0;
  inFlight = new Set();
  parentWritten = new Set();
  timer;

  constructor(base, names) {
    this.base = base;
    this.names = names;
  }

  /** Each agent beats at its own offset in the period, so the write rate is N / period, evenly. */
  start() {
    const n = this.names.length;
    let cycle = Date.now();
    let next = 0;
    this.timer = setInterval(() => {
      const now = Date.now();
      while (cycle + (next / n) * PERIOD_MS <= now) {
        this.beat(next);
        next++;
        if (next === n) {
          next = 0;
          cycle += PERIOD_MS;
        }
      }
    }, 10);
  }

  stop() {
    clearInterval(this.timer);
  }

  beat(i) {
    const name = this.names[i];
    // A real agent does not pile up writes; neither do we.
    if (this.paused.has(name) || this.inFlight.has(name)) return;
    this.inFlight.add(name);
    const sentAt = Date.now();
    const status = { lastHeartbeatTime: new Date(sentAt).toISOString() };
    if (!this.parentWritten.has(name))
      status.tunnel = { parent: { name: 'eth0', ipv4: `198.18.${128 + (i >> 8)}.${i & 255}` } };
    call(
      this.base,
      'PATCH',
      `${GROUP}/egresstunnels/${name}/status`,
      { status },
      'application/merge-patch+json',
    )
      .then(
        () => {
          const ackAt = Date.now();
          this.parentWritten.add(name);
          this.lastAck.set(name, { sentAt, ackAt });
          if (this.recordLatency) this.latencies.push(ackAt - sentAt);
        },
        (err) => {
          if (err.status !== 404) this.errors++; // 404: the controller has not created the tunnel yet
        },
      )
      .finally(() => this.inFlight.delete(name));
  }
}

// ---------------------------------------------------------------- statistics and output
function stats(values) {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : Number.NaN,
  };
}
const statText = (s, unit = 'ms') =>
  `p50 ${fmt(s.p50)} / p99 ${fmt(s.p99)} / max ${fmt(s.max)} ${unit} (n=${s.n})`;

function createPrng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

// ---------------------------------------------------------------- one size
async function runSize(n) {
  const result = { n };
  http = new ApiCaller(64);
  const api = await startApiServer();
  const base = api.first.url;
  const gateways = Math.ceil(n / NODES_PER_GATEWAY);
  const names = Array.from({ length: n }, (_, i) => `node-${String(i).padStart(5, '0')}`);
  const nodeGateway = new Map(names.map((name, i) => [name, `gw-${Math.floor(i / NODES_PER_GATEWAY)}`]));

  for (const crd of customResourceDefinitions())
    await call(base, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  await pool(names, 16, (name) =>
    call(base, 'POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'bench/gateway': nodeGateway.get(name) } },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    }),
  );
  const policyNames = [];
  for (let g = 0; g < gateways; g++) {
    const eips = Array.from({ length: EIPS_PER_GATEWAY }, (_, k) => `198.18.${g}.${10 + k}`);
    await call(base, 'POST', `${GROUP}/egressgateways`, {
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressGateway',
      metadata: { name: `gw-${g}` },
      spec: {
        ippools: { ipv4: eips, ipv4DefaultEIP: eips[0] },
        nodeSelector: { selector: { matchLabels: { 'bench/gateway': `gw-${g}` } } },
      },
    });
    for (const [k, eip] of eips.entries()) {
      const name = `p-${g}-${k}`;
      policyNames.push(name);
      await call(base, 'POST', `${GROUP}/namespaces/default/egresspolicies`, {
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
        kind: 'EgressPolicy',
        metadata: { name, namespace: 'default' },
        spec: {
          egressGatewayName: `gw-${g}`,
          egressIP: { ipv4: eip },
          appliedTo: { podSelector: { matchLabels: { app: name } } },
          destSubnet: ['203.0.113.0/24'],
        },
      });
    }
  }
  debug('seeded');
  result.gateways = gateways;
  result.policies = policyNames.length;

  // The controller: bootstrap (create + allocate N tunnels, all Ready, all policies placed).
  const ctl = await startControllerChild();
  const t0 = Date.now();
  await ctl.ask({
    type: 'start',
    kubeconfigYaml: api.first.kubeconfigYaml,
    settings: {
      eipEvictionTimeoutMs: EVICT_MS,
      tunnelMonitorPeriodMs: MONITOR_MS,
      rebalance: false,
      detection: 'deadline',
      tunnelIpv4Cidr: '198.19.0.0/16',
      tunnelIpv6Cidr: 'fd00:ff::/112',
    },
  });
  const agents = new Agents(base, names);
  agents.start();
  let counts;
  for (;;) {
    counts = await ctl.ask({ type: 'counts' });
    debug('bootstrap', counts.tunnels, JSON.stringify(counts.phases), counts.placed);
    if (counts.tunnels === n && counts.phases.Ready === n && counts.placed === policyNames.length) break;
    if (Date.now() - t0 > 150_000)
      throw new Error(`bootstrap of ${n} did not converge in 150 s: ${JSON.stringify(counts.phases)}`);
    await sleep(500);
  }
  result.bootstrapMs = Date.now() - t0;
  const afterBoot = await ctl.ask({ type: 'usage' });
  result.bootstrapCpuMs = (afterBoot.cpu.user + afterBoot.cpu.system) / 1000;
  result.bootstrapWrites = afterBoot.writes;

  // Steady state: healthy heartbeats only; nothing should be written. Start once the controller
  // has written nothing for 3 s (placement writes trail the last tunnel going Ready).
  let quietSince = Date.now();
  let lastWrites = afterBoot.writes;
  while (Date.now() - quietSince < 3000 && Date.now() - t0 < 200_000) {
    await sleep(500);
    const u = await ctl.ask({ type: 'usage' });
    if (u.writes !== lastWrites) {
      lastWrites = u.writes;
      quietSince = Date.now();
    }
  }
  result.settledMs = Date.now() - t0;
  await ctl.ask({ type: 'resetPeak' });
  agents.recordLatency = true;
  const s0 = await ctl.ask({ type: 'usage' });
  const a0 = await askOnce(api.child, 'usage');
  const w0 = Date.now();
  await sleep(STEADY_MS);
  const s1 = await ctl.ask({ type: 'usage' });
  const a1 = await askOnce(api.child, 'usage');
  const window = Date.now() - w0;
  agents.recordLatency = false;
  const sgc = await ctl.ask({ type: 'usage', gc: true });
  // EGW_BENCH_HEAPSNAPSHOT=<dir>: a heap snapshot of the controller after the steady window.
  if (process.env.EGW_BENCH_HEAPSNAPSHOT)
    debug(
      'heap snapshot',
      (
        await ctl.ask({
          type: 'heapSnapshot',
          file: `${process.env.EGW_BENCH_HEAPSNAPSHOT}/controller-${n}.heapsnapshot`,
        })
      ).file,
    );
  result.steady = {
    cpuPct: ((s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 1000 / window) * 100,
    apiCpuPct: ((a1.cpu.user + a1.cpu.system - a0.cpu.user - a0.cpu.system) / 1000 / window) * 100,
    rss: s1.mem.rss,
    peakRss: s1.peakRss,
    heapUsed: s1.mem.heapUsed,
    rssAfterGc: sgc.mem.rss,
    heapAfterGc: sgc.mem.heapUsed,
    writes: s1.writes - s0.writes,
    heartbeatsPerS: (agents.latencies.length / window) * 1000,
    reconcilesPerS: ((s1.reconciles - s0.reconciles) / window) * 1000,
    reconcileMs:
      ((s1.reconcileSeconds - s0.reconcileSeconds) / Math.max(1, s1.reconciles - s0.reconciles)) * 1000,
    loopDelay: s1.loopDelay,
    heartbeatLatency: stats(agents.latencies),
    apiRss: a1.mem.rss,
  };

  // Failover: stop 10 % of the agents at once, half of them EIP holders.
  const rand = createPrng(n);
  const holders = counts.holders;
  const kill = new Set();
  const killCount = Math.round(n * KILL_FRACTION);
  const shuffled = [...holders];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  for (const h of shuffled) {
    if (kill.size >= killCount / 2) break;
    kill.add(h.node);
  }
  while (kill.size < killCount) kill.add(names[Math.floor(rand() * n)]);
  const killedHolders = holders.filter((h) => kill.has(h.node));
  await ctl.ask({ type: 'resetPeak' });
  const f0 = await ctl.ask({ type: 'usage' });
  const killAt = Date.now();
  for (const name of kill) agents.paused.add(name);
  // Wait for every detection and every moved policy written, or give up after the bound.
  const bound = killAt + EVICT_MS + PERIOD_MS + 30_000;
  let fo;
  for (;;) {
    await sleep(500);
    fo = await ctl.ask({ type: 'failover', since: killAt });
    const detected = new Set(fo.detections.map((d) => d.tunnel));
    const c = await ctl.ask({ type: 'counts' });
    const stillOnKilled = c.holders.filter((h) => kill.has(h.node)).length;
    const allDetected = [...kill].every((name) => detected.has(name));
    debug('failover', detected.size, stillOnKilled, c.placed);
    if ((allDetected && stillOnKilled === 0 && c.placed === policyNames.length) || Date.now() > bound) {
      result.undetected = [...kill].filter((name) => !detected.has(name)).length;
      result.stillOnKilled = stillOnKilled;
      break;
    }
  }
  const f1 = await ctl.ask({ type: 'usage' });
  const lastWrite = Math.max(...fo.writes.map((w) => w.at));
  const windowMs = Math.max(1, lastWrite - killAt);
  // The failover CPU share is over the whole window from the kill to the last write.
  result.failoverCpuPct =
    ((f1.cpu.user + f1.cpu.system - f0.cpu.user - f0.cpu.system) / 1000 / windowMs) * 100;
  result.failoverPeakRss = f1.peakRss;
  result.failoverHeap = { used: f1.mem.heapUsed, total: f1.mem.heapTotal };
  result.failoverReconciles = f1.reconciles - f0.reconciles;
  result.failoverLoopDelay = f1.loopDelay;
  result.failoverReconcileMs =
    ((f1.reconcileSeconds - f0.reconcileSeconds) / Math.max(1, f1.reconciles - f0.reconciles)) * 1000;
  result.maxRss = f1.maxRss;
  result.apiErrors = f1.apiErrors;
  result.apiErrorsBy = f1.apiErrorsBy;
  result.killed = kill.size;
  result.killedHolders = killedHolders.length;
  result.errors = fo.errors.length;

  const detections = fo.detections.filter((d) => kill.has(d.tunnel));
  result.falseEvictions = fo.detections.filter((d) => !kill.has(d.tunnel)).length;
  // (1) The controller's own number: reconcile instant minus (observedAt + timeout).
  result.detection = stats(detections.map((d) => d.delayMs));
  result.within100 = detections.filter((d) => d.delayMs <= 100).length;
  // (2) From the agent's side: detection instant minus (last acknowledged heartbeat + timeout).
  result.detectionFromAck = stats(
    detections.map((d) => d.at - ((agents.lastAck.get(d.tunnel)?.ackAt ?? Number.NaN) + EVICT_MS)),
  );
  // (3) Detection to the tunnel's HeartbeatTimeout phase written.
  const firstWrite = (pred, after) => {
    let best = Number.POSITIVE_INFINITY;
    for (const w of fo.writes) if (w.at >= after && w.at < best && pred(w)) best = w.at;
    return best;
  };
  result.phaseWritten = stats(
    detections.map(
      (d) =>
        firstWrite(
          (w) => w.resource === 'egresstunnels' && w.name === d.tunnel && w.phase === 'HeartbeatTimeout',
          d.at,
        ) - d.at,
    ),
  );
  // (4) Detection of an EIP holder to its gateway status and its policies' status all written.
  const detectedAt = new Map(detections.map((d) => [d.tunnel, d.at]));
  const statusWritten = [];
  for (const h of killedHolders) {
    const at = detectedAt.get(h.node);
    if (at === undefined) continue;
    const gw = firstWrite(
      (w) =>
        w.resource === 'egressgateways' &&
        w.name === h.gateway &&
        w.eips.some((e) => e.eip === h.eip && e.node !== h.node && !kill.has(e.node)),
      at,
    );
    let pol = gw;
    for (const p of h.policies)
      pol = Math.max(
        pol,
        firstWrite((w) => w.resource === 'egresspolicies' && w.name === p && w.node && w.node !== h.node, at),
      );
    if (!Number.isFinite(pol)) debug('status not seen written', JSON.stringify(h), gw);
    statusWritten.push(pol - at);
  }
  result.statusWritten = stats(statusWritten);
  result.failoverSpanMs = lastWrite - killAt;
  result.histogram = fo.histogram;

  agents.stop();
  await ctl.ask({ type: 'stop' });
  await stopChild(ctl.child);
  await stopChild(api.child);
  http.destroy();
  return result;
}

// ---------------------------------------------------------------- main
console.log(
  `controller child: ${process.env.EGW_BENCH_UNBUNDLED ? 'unbundled library build' : 'bundled like dist/bin.js'}, node flags ${JSON.stringify([...binFlags, ...(process.env.EGW_BENCH_CONTROLLER_ARGS?.split(' ').filter(Boolean) ?? [])])}`,
);
console.log(
  `controller failover benchmark: heartbeat period ${PERIOD_MS / 1000} s (N/5 writes/s), eviction timeout ${EVICT_MS / 1000} s, ` +
    `deadline detection, ${NODES_PER_GATEWAY} nodes and ${EIPS_PER_GATEWAY} EIPs/policies per gateway, ${KILL_FRACTION * 100} % of agents stopped`,
);
const results = [];
for (const n of SIZES) {
  const started = Date.now();
  process.stdout.write(`\nN = ${n} ...`);
  const r = await runSize(n);
  results.push(r);
  console.log(` done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const rows = [
    ['gateways / policies (EIPs)', `${r.gateways} / ${r.policies}`],
    [
      'bootstrap: N tunnels created, allocated, Ready, all placed',
      `${fmt(r.bootstrapMs / 1000, 1)} s, ${r.bootstrapWrites} writes, ${fmt(r.bootstrapCpuMs / 1000, 1)} s CPU`,
    ],
    ['bootstrap: until no write for 3 s', `${fmt(r.settledMs / 1000, 1)} s`],
    [
      'steady: heartbeat writes/s (agent write p50/p99)',
      `${fmt(r.steady.heartbeatsPerS)} /s (${fmt(r.steady.heartbeatLatency.p50, 1)} / ${fmt(r.steady.heartbeatLatency.p99, 1)} ms)`,
    ],
    ['steady: controller status writes', `${r.steady.writes} in ${STEADY_MS / 1000} s`],
    [
      'steady: controller CPU (one core = 100 %)',
      `${fmt(r.steady.cpuPct, 1)} %  (API server ${fmt(r.steady.apiCpuPct, 1)} %)`,
    ],
    [
      'steady: reconciles/s, mean reconcile',
      `${fmt(r.steady.reconcilesPerS)} /s, ${fmt(r.steady.reconcileMs, 1)} ms`,
    ],
    [
      'steady: controller event-loop delay p99 / max',
      `${fmt(r.steady.loopDelay.p99)} / ${fmt(r.steady.loopDelay.max)} ms`,
    ],
    [
      'steady: controller RSS / peak / heap used',
      `${fmt(mb(r.steady.rss), 1)} / ${fmt(mb(r.steady.peakRss), 1)} / ${fmt(mb(r.steady.heapUsed), 1)} MB  (API server RSS ${fmt(mb(r.steady.apiRss), 1)} MB)`,
    ],
    [
      'steady: after a forced full GC: RSS / heap used',
      `${fmt(mb(r.steady.rssAfterGc), 1)} / ${fmt(mb(r.steady.heapAfterGc), 1)} MB`,
    ],
    [
      'failover: agents stopped (EIP holders)',
      `${r.killed} (${r.killedHolders}); undetected ${r.undetected}, false evictions ${r.falseEvictions}, EIPs left on stopped nodes ${r.stillOnKilled}`,
    ],
    ['detection beyond timeout (controller, observedAt)', statText(r.detection)],
    ['  detections within 100 ms', `${r.within100} of ${r.detection.n}`],
    [
      '  same, from the metric (whole run, le="0.1" / +Inf)',
      `${r.histogram.find((b) => b.le === 0.1)?.count ?? '-'} / ${r.histogram.find((b) => b.le === '+Inf')?.count ?? '-'}`,
    ],
    ['detection beyond timeout (from last acked beat)', statText(r.detectionFromAck)],
    ['detection -> tunnel phase written', statText(r.phaseWritten)],
    ['detection -> gateway + policy status written', statText(r.statusWritten)],
    [
      'failover: kill -> last write',
      `${fmt(r.failoverSpanMs / 1000, 1)} s, controller CPU ${fmt(r.failoverCpuPct, 1)} %`,
    ],
    [
      'failover: reconciles, mean reconcile; event-loop delay p99 / max',
      `${r.failoverReconciles}, ${fmt(r.failoverReconcileMs, 1)} ms; ${fmt(r.failoverLoopDelay.p99)} / ${fmt(r.failoverLoopDelay.max)} ms`,
    ],
    [
      'failover: controller heap used / heap total at the end',
      `${fmt(mb(r.failoverHeap.used), 1)} / ${fmt(mb(r.failoverHeap.total), 1)} MB`,
    ],
    [
      'controller peak RSS during failover / max RSS of process',
      `${fmt(mb(r.failoverPeakRss), 1)} / ${fmt(mb(r.maxRss), 1)} MB`,
    ],
    [
      'controller errors logged (failover) / failed API calls (whole run)',
      `${r.errors} / ${r.apiErrors}${r.apiErrorsBy.length ? ` (${r.apiErrorsBy.join(', ')})` : ''}`,
    ],
  ];
  for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v}`);
}

if (results.length > 1) {
  const [a, b] = [results[0], results[results.length - 1]];
  const ratio = (x, y) =>
    Number.isFinite(x) && Number.isFinite(y) && y !== 0 ? `${(x / y).toFixed(2)}x` : '-';
  console.log(`\nratios N=${b.n} vs N=${a.n} (${b.n / a.n}x tunnels):`);
  console.log(
    `  steady RSS ${ratio(b.steady.rss, a.steady.rss)}, steady CPU ${ratio(b.steady.cpuPct, a.steady.cpuPct)}, bootstrap time ${ratio(b.bootstrapMs, a.bootstrapMs)}, detection p99 ${ratio(b.detection.p99, a.detection.p99)}, status-written p99 ${ratio(b.statusWritten.p99, a.statusWritten.p99)}`,
  );
}
console.log('\ntargets:');
for (const r of results) {
  const peak = Math.max(r.steady.peakRss, r.failoverPeakRss);
  console.log(
    `  N=${r.n}: detection p99 ${fmt(r.detection.p99)} ms vs 100 ms (${fmt(r.detection.p99 / 100, 2)}x of target) ${r.detection.p99 <= 100 ? 'MET' : 'NOT MET'}; ` +
      `peak RSS ${fmt(mb(peak), 1)} MB vs 150 MB (${fmt(mb(peak) / 150, 2)}x) ${mb(peak) < 150 ? 'MET' : 'NOT MET'}${r.n === 5000 ? '' : ' (RSS target is for 5 000)'}`,
  );
}
