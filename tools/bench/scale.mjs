// Cluster scale benchmark (issue 20): what the API server, the controller and the agents cost as
// the number of nodes grows. `node tools/bench/scale.mjs --nodes 100,300,1000` (needs the built
// dist of apiserver, controller and agent: `npx nx run-many -t build`).
//
// Processes per size: the embedded API server (scale-apiserver-child.mjs, which counts requests,
// watch events and bytes), the real controller (packages/controller/bench/controller-child.mjs,
// built dist), the agents (scale-agents-child.mjs: the real EgressAgent with a counting binder),
// and this driver, which seeds the cluster over HTTP and replaces pods (the churn).
//   - N Nodes, the first 50 (below 100 nodes: half) labelled egress=true and selected by one
//     EgressGateway (50 EIPs);
//   - 30 Pods per node (podIPs from 198.18.64.0/18) in 10 namespaces, 300 EgressPolicies (rr);
//   - N agents: VICTIMS gateway agents alone in a process each (killed for the failover), one
//     worker agent alone (its process RSS is "one agent"), the rest in AGENT_PROCS processes;
//   - after every agent is synced and every policy placed: a steady window of WINDOW_S with a
//     pod churn of CHURN pods/s (delete + create + status patch each), then the victims' processes
//     are SIGKILLed and we time the controller's detection and EIP moves.
//
// Env: EGW_BENCH_WINDOW_S (default 30), EGW_BENCH_CHURN (pods/s, default 20),
// EGW_BENCH_AGENT_PROCS (default 4), EGW_BENCH_VICTIMS (gateway agents killed, default 3: more give
// more detection samples per run), EGW_BENCH_POLICIES (default 300).
import { fileURLToPath } from 'node:url';
import { customResourceDefinitions } from '@egressgateway/crds';
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
} from './harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const SIZES = arg('nodes', '100,300,1000').split(',').map(Number);
// Gateway nodes: 50, or half the nodes below 100 (the smallest useful run, --nodes 10, has 5
// gateway nodes, 3 of them victims, and 5 workers).
const MAX_GATEWAY_NODES = 50;
let GATEWAY_NODES = MAX_GATEWAY_NODES;
const PODS_PER_NODE = 30;
const POLICIES = Number(process.env.EGW_BENCH_POLICIES ?? 300);
const NAMESPACES = 10;
const EIPS = 50;
const VICTIMS = Number(process.env.EGW_BENCH_VICTIMS ?? 3);
const WINDOW_MS = Number(process.env.EGW_BENCH_WINDOW_S ?? 30) * 1000;
const CHURN = Number(process.env.EGW_BENCH_CHURN ?? 20);
const AGENT_PROCS = Number(process.env.EGW_BENCH_AGENT_PROCS ?? 4);
const UPDATE_MS = 1000; // tunnelUpdatePeriod (default)
const EVICT_MS = 3000; // eipEvictionTimeout (default)
const MARGIN_MS = 500; // fence margin (default)
const GROUP = '/apis/egressgateway.spidernet.io/v1beta1';

const eipOf = (e) => (typeof e === 'string' ? e : (e?.ipv4 ?? e?.ipv6));
const cpuMs = (u) => (u.cpu.user + u.cpu.system) / 1000;
const nodeName = (i) => (i < GATEWAY_NODES ? `gw-${i}` : `wk-${i}`);
const parentIp = (i) => `198.18.${i >> 8}.${i & 255}`;
let podSeq = 0;
const podIp = () => {
  const j = podSeq++ % (192 * 256);
  return `198.18.${64 + (j >> 8)}.${j & 255}`;
};

async function runSize(n) {
  const t0 = Date.now();
  GATEWAY_NODES = Math.min(MAX_GATEWAY_NODES, Math.floor(n / 2));
  if (GATEWAY_NODES <= VICTIMS) throw new Error(`--nodes ${n}: at least ${2 * (VICTIMS + 1)} nodes`);
  const http = new ApiCaller(32);
  const call = (...a) => http.call(...a);
  const api = await forkChild(`${here}scale-apiserver-child.mjs`);
  const base = api.first.url;
  const kubeconfigYaml = api.first.kubeconfigYaml;

  // ------------------------------------------------------------ seed
  for (const crd of customResourceDefinitions())
    await call(base, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  await pool(
    Array.from({ length: n }, (_, i) => i),
    32,
    (i) =>
      call(base, 'POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: nodeName(i), labels: i < GATEWAY_NODES ? { egress: 'true' } : {} },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      }),
  );
  for (let k = 0; k < NAMESPACES; k++)
    await call(base, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `ns-${k}` },
    });
  const eips = Array.from({ length: EIPS }, (_, i) => `198.51.100.${10 + i}`);
  await call(base, 'POST', `${GROUP}/egressgateways`, {
    apiVersion: 'egressgateway.spidernet.io/v1beta1',
    kind: 'EgressGateway',
    metadata: { name: 'egw' },
    spec: {
      ippools: { ipv4: eips, ipv4DefaultEIP: eips[0] },
      nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
    },
  });
  const pods = new Map(); // name -> namespace
  let podName = 0;
  const createPod = async (node) => {
    const i = podName++;
    const name = `pod-${i}`;
    const namespace = `ns-${i % NAMESPACES}`;
    await call(base, 'POST', `/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { app: `a-${i % POLICIES}` } },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
    });
    const ip = podIp();
    await call(
      base,
      'PATCH',
      `/api/v1/namespaces/${namespace}/pods/${name}/status`,
      { status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } },
      'application/merge-patch+json',
    );
    pods.set(name, { namespace, node });
  };
  await pool(
    Array.from({ length: n * PODS_PER_NODE }, (_, i) => nodeName(i % n)),
    32,
    createPod,
  );
  await pool(
    Array.from({ length: POLICIES }, (_, i) => i),
    16,
    (i) =>
      call(base, 'POST', `${GROUP}/namespaces/ns-${i % NAMESPACES}/egresspolicies`, {
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
        kind: 'EgressPolicy',
        metadata: { name: `p-${i}`, namespace: `ns-${i % NAMESPACES}` },
        spec: {
          egressGatewayName: 'egw',
          egressIP: { allocatorPolicy: 'rr' },
          appliedTo: { podSelector: { matchLabels: { app: `a-${i}` } } },
          destSubnet: ['203.0.113.0/24'],
        },
      }),
  );
  const seeded = Date.now();
  debug('seeded', n, seeded - t0);

  // ------------------------------------------------------------ controller and agents
  const ctl = await forkChild(`${here}../../packages/controller/bench/controller-child.mjs`, ['--expose-gc']);
  await ctl.ask({
    type: 'start',
    kubeconfigYaml,
    settings: {
      eipEvictionTimeoutMs: EVICT_MS,
      tunnelMonitorPeriodMs: 5000,
      rebalance: false,
      detection: 'deadline',
      tunnelIpv4Cidr: '198.19.0.0/16',
      tunnelIpv6Cidr: '',
    },
  });
  const settings = {
    egressInterface: 'eth0',
    tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, ipv4Cidr: '198.19.0.0/16' },
    updatePeriodMs: UPDATE_MS,
    evictionTimeoutMs: EVICT_MS,
    fenceMarginMs: MARGIN_MS,
  };
  const nodes = Array.from({ length: n }, (_, i) => ({ name: nodeName(i), ipv4: parentIp(i) }));
  const victims = nodes.slice(0, VICTIMS);
  const single = nodes[GATEWAY_NODES]; // a worker node's agent alone in its process
  const rest = nodes.filter((x) => !victims.includes(x) && x !== single);
  const groups = [...victims.map((v) => [v]), [single]];
  for (let p = 0; p < AGENT_PROCS; p++) groups.push(rest.filter((_, i) => i % AGENT_PROCS === p));
  const agentProcs = [];
  for (const g of groups) {
    const c = await forkChild(`${here}scale-agents-child.mjs`);
    agentProcs.push({ ...c, nodes: g });
  }
  await Promise.all(
    agentProcs.map((p) => p.ask({ type: 'start', kubeconfigYaml, settings, nodes: p.nodes })),
  );
  const agentsUp = Date.now();
  debug('agents synced', n, agentsUp - seeded);
  let counts;
  for (;;) {
    counts = await ctl.ask({ type: 'counts' });
    const ready = counts.phases.Ready ?? 0;
    debug('bootstrap', JSON.stringify(counts.phases), counts.placed);
    // Worker agents write their tunnel once (phase stays Init: no heartbeats); gateway tunnels go
    // Ready. On a loaded machine late heartbeats flap some to HeartbeatTimeout: after 30 s the run
    // goes on and reports the phases it saw (a finding, not a harness failure).
    if (
      counts.placed === POLICIES &&
      counts.tunnels === n &&
      (ready >= GATEWAY_NODES || Date.now() - agentsUp > 30_000)
    )
      break;
    if (Date.now() - agentsUp > 180_000)
      throw new Error(`not converged: ${JSON.stringify(counts.phases)}, placed ${counts.placed}`);
    await sleep(1000);
  }
  const converged = Date.now();
  const phasesAtStart = counts.phases;

  // ------------------------------------------------------------ steady window with churn
  await sleep(3000);
  const usage = async () => ({
    at: Date.now(),
    api: await askOnce(api.child, 'usage'),
    ctl: await ctl.ask({ type: 'usage' }),
    agents: await Promise.all(agentProcs.map((p) => p.ask({ type: 'usage' }))),
  });
  const u0 = await usage();
  let churned = 0;
  const churnUntil = Date.now() + WINDOW_MS;
  const names = [...pods.keys()];
  let next = 0;
  let peakApiRss = 0;
  while (Date.now() < churnUntil) {
    const tick = Date.now();
    const batch = names.slice(next, next + CHURN);
    next += CHURN;
    await pool(batch, 8, async (name) => {
      const { namespace, node } = pods.get(name);
      await call(base, 'DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`);
      pods.delete(name);
      await createPod(node);
      churned++;
    });
    peakApiRss = Math.max(peakApiRss, (await askOnce(api.child, 'usage')).mem.rss);
    await sleep(Math.max(0, 1000 - (Date.now() - tick)));
  }
  const u1 = await usage();
  const secs = (u1.at - u0.at) / 1000;
  const c0 = u0.api.counters;
  const c1 = u1.api.counters;
  const requests = {};
  for (const [k, v] of Object.entries(c1.requests)) {
    const d = (v - (c0.requests[k] ?? 0)) / secs;
    if (d > 0) requests[k] = d;
  }
  const eventsByResource = {};
  for (const [k, v] of Object.entries(c1.eventsByResource))
    eventsByResource[k] = (v - (c0.eventsByResource[k] ?? 0)) / secs;
  const agentCpu = u1.agents.reduce((s, a, i) => s + cpuMs(a) - cpuMs(u0.agents[i]), 0);
  const result = {
    n,
    seedS: (seeded - t0) / 1000,
    syncS: (agentsUp - seeded) / 1000,
    convergeS: (converged - agentsUp) / 1000,
    windowS: secs,
    churnPerS: churned / secs,
    eventsPerS: (c1.watchEvents - c0.watchEvents) / secs,
    eventsPerAgentPerS: (c1.watchEvents - c0.watchEvents) / secs / n,
    eventsByResource,
    bytesPerS: (c1.bytes - c0.bytes) / secs,
    requests,
    requestsPerS: Object.values(requests).reduce((s, v) => s + v, 0),
    apiCpuPct: ((cpuMs(u1.api) - cpuMs(u0.api)) / 1000 / secs) * 100,
    apiRss: u1.api.mem.rss,
    apiPeakRss: Math.max(peakApiRss, u1.api.mem.rss),
    ctlCpuPct: ((cpuMs(u1.ctl) - cpuMs(u0.ctl)) / 1000 / secs) * 100,
    ctlRss: u1.ctl.mem.rss,
    gatewayAgentRss: u1.agents[0].mem.rss,
    workerAgentRss: u1.agents[VICTIMS].mem.rss,
    agentsCpuPct: (agentCpu / 1000 / secs) * 100,
    sharedProcRssPerAgent:
      u1.agents.slice(VICTIMS + 1).reduce((s, a) => s + a.mem.rss, 0) / Math.max(1, rest.length),
    fenced: u1.agents.reduce((s, a) => s + a.fenced, 0),
    gatewayNodes: GATEWAY_NODES,
    // Watchers of the kinds every agent watches: the N agents and the controller.
    tunnelEventsPerAgentPerS: (eventsByResource.egresstunnels ?? 0) / (n + 1),
    // Heartbeat Leases: no agent watches Leases, so every Lease event goes to the controller.
    leaseEventsPerS: eventsByResource.leases ?? 0,
    leaseRequestsPerS: Object.entries(requests)
      .filter(([k]) => /^\S+ leases/.test(k))
      .reduce((s, [, v]) => s + v, 0),
    tunnelStatusWritesPerS: requests['patch egresstunnels/status'] ?? 0,
    phasesAtStart,
    phasesAtEnd: (await ctl.ask({ type: 'counts' })).phases,
  };

  // ------------------------------------------------------------ failover: kill the victims
  const holders = new Map(counts.holders.map((h) => [h.eip, h.node]));
  const victimNames = new Set(victims.map((v) => v.name));
  const victimEips = [...holders].filter(([, node]) => victimNames.has(node)).map(([eip]) => eip);
  const killedAt = Date.now();
  for (const p of agentProcs.slice(0, VICTIMS)) p.child.kill('SIGKILL');
  let fo;
  for (;;) {
    await sleep(250);
    fo = await ctl.ask({ type: 'failover', since: killedAt });
    const detected = new Set(fo.detections.map((d) => d.tunnel));
    const moved = new Set(fo.moves.map((m) => eipOf(m.eip)));
    if ([...victimNames].every((v) => detected.has(v)) && victimEips.every((e) => moved.has(e))) break;
    if (Date.now() - killedAt > 30_000) {
      result.failoverNote = `after 30 s: detected ${[...detected]}, moved ${[...moved]} of ${victimEips}`;
      break;
    }
  }
  // Detection delay as the controller computed it (reconcile instant minus the heartbeat deadline),
  // and kill -> EIP move as seen here (includes up to one update period + eviction timeout).
  result.detectionDelayMs = fo.detections.filter((d) => victimNames.has(d.tunnel)).map((d) => d.delayMs);
  result.moveMs = victimEips.map((e) => {
    const m = fo.moves.find((x) => eipOf(x.eip) === e);
    return m ? m.at - killedAt : Number.NaN;
  });
  result.victimEips = victimEips.length;
  result.totalS = (Date.now() - t0) / 1000;

  for (const p of agentProcs.slice(VICTIMS)) await stopChild(p.child);
  await ctl.ask({ type: 'stop' });
  await stopChild(ctl.child);
  await stopChild(api.child);
  http.destroy();
  return result;
}

const results = [];
for (const n of SIZES) {
  console.log(`nodes ${n}: running...`);
  const r = await runSize(n);
  results.push(r);
  console.log(JSON.stringify(r));
}

console.log('\n| nodes | 100 | ... |');
const row = (label, f) => console.log(`| ${label} | ${results.map(f).join(' | ')} |`);
console.log(`| metric | ${results.map((r) => `${r.n} nodes`).join(' | ')} |`);
console.log(`|---|${results.map(() => '---:').join('|')}|`);
row('watch events delivered /s (total)', (r) => fmt(r.eventsPerS));
row('watch events /s per agent', (r) => fmt(r.eventsPerAgentPerS, 1));
row(
  '  of which pods / egresstunnels',
  (r) => `${fmt(r.eventsByResource.pods ?? 0)} / ${fmt(r.eventsByResource.egresstunnels ?? 0)}`,
);
row('  egresstunnels events /s per agent', (r) => fmt(r.tunnelEventsPerAgentPerS, 2));
row('Lease events /s (to the controller only)', (r) => fmt(r.leaseEventsPerS, 1));
row(
  'Lease requests /s; tunnel status writes /s',
  (r) => `${fmt(r.leaseRequestsPerS, 1)}; ${fmt(r.tunnelStatusWritesPerS, 2)}`,
);
row('API requests /s (all)', (r) => fmt(r.requestsPerS));
row('API response bytes /s', (r) => `${fmt(mb(r.bytesPerS), 1)} MiB`);
row('API server CPU', (r) => `${fmt(r.apiCpuPct)} %`);
row('API server RSS (peak)', (r) => `${fmt(mb(r.apiRss))} (${fmt(mb(r.apiPeakRss))}) MiB`);
row('controller CPU / RSS', (r) => `${fmt(r.ctlCpuPct)} % / ${fmt(mb(r.ctlRss))} MiB`);
row('one gateway agent RSS (own process)', (r) => `${fmt(mb(r.gatewayAgentRss))} MiB`);
row('one worker agent RSS (own process)', (r) => `${fmt(mb(r.workerAgentRss))} MiB`);
row('all agents CPU', (r) => `${fmt(r.agentsCpuPct)} %`);
row(
  'detection delay max (n)',
  (r) => `${fmt(Math.max(...r.detectionDelayMs))} ms (${r.detectionDelayMs.length})`,
);
row('kill -> EIP moved p99', (r) => `${fmt(percentile(r.moveMs, 99))} ms (${r.moveMs.length})`);
row('run time', (r) => `${fmt(r.totalS)} s`);
for (const r of results) {
  console.log(`\nrequests /s by verb and resource at ${r.n} nodes:`);
  for (const [k, v] of Object.entries(r.requests).sort((a, b) => b[1] - a[1]))
    console.log(`  ${k}: ${fmt(v, 1)}`);
}
