// Resource benchmark of @egressgateway/agent (run from the built dist: `npm run bench`).
//
// Three processes: the embedded API server (tools/bench/apiserver-child.mjs), the agent of node gw-0
// with a counting no-op binder (bench/agent-child.mjs, the process whose RSS and CPU are
// reported), and this one, which seeds the cluster, runs the real EgressController (built dist)
// and a fake agent heartbeating for the second gateway node gw-1. Phases:
//   idle     - the agent heartbeats (1 s period), gateway selected, no policies, no pods;
//   load     - 1 000 pods (a quarter on gw-0) and 1 000 EgressPolicies (rr over 100 EIPs) are
//              created; until the agent applied a datapath with every policy in it;
//   loaded   - steady again with 1 000 policies and 1 000 pods in its caches.
// Heartbeat write latency is the agent's own (sent -> acknowledged, its `heartbeats` record).
//
// Env: EGW_BENCH_POLICIES (default 1000), EGW_BENCH_WINDOW_S (default 20).
import { fileURLToPath } from 'node:url';
import { EgressController } from '@egressgateway/controller';
import { customResourceDefinitions } from '@egressgateway/crds';
import { EGRESS_TUNNELS, KubeClient } from '@egressgateway/kube';
import { KubeConfig } from '@kubernetes/client-node';
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
const POLICIES = Number(process.env.EGW_BENCH_POLICIES ?? 1000);
const PODS = POLICIES;
const EIPS = 100;
const WINDOW_MS = Number(process.env.EGW_BENCH_WINDOW_S ?? 20) * 1000;
const UPDATE_MS = 1000; // tunnelUpdatePeriod (default)
const EVICT_MS = 3000; // eipEvictionTimeout (default)
const MARGIN_MS = 500; // fence margin (default)
const WORKERS = 10;
const GROUP = '/apis/egressgateway.spidernet.io/v1beta1';

const http = new ApiCaller(16);
const call = (...a) => http.call(...a);

function latencyText(heartbeats) {
  const v = heartbeats.map((h) => h.ackAt - h.sentAt);
  return `p50 ${fmt(percentile(v, 50), 1)} / p99 ${fmt(percentile(v, 99), 1)} / max ${fmt(v.length ? Math.max(...v) : Number.NaN, 1)} ms (n=${v.length})`;
}
const cpuMs = (u) => (u.cpu.user + u.cpu.system) / 1000;

// ---------------------------------------------------------------- cluster
const server = await forkChild(`${here}../../../tools/bench/apiserver-child.mjs`);
const base = server.first.url;
const kc = new KubeConfig();
kc.loadFromString(server.first.kubeconfigYaml);
const client = new KubeClient(kc);

for (const crd of customResourceDefinitions())
  await call(base, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
const node = (name, labels) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});
const workers = Array.from({ length: WORKERS }, (_, i) => `wk-${i}`);
await call(base, 'POST', '/api/v1/nodes', node('gw-0', { egress: 'true' }));
await call(base, 'POST', '/api/v1/nodes', node('gw-1', { egress: 'true' }));
for (const w of workers) await call(base, 'POST', '/api/v1/nodes', node(w, {}));
const eips = Array.from({ length: EIPS }, (_, i) => `198.18.${Math.floor(i / 200)}.${10 + (i % 200)}`);
await call(base, 'POST', `${GROUP}/egressgateways`, {
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name: 'egw' },
  spec: {
    ippools: { ipv4: eips, ipv4DefaultEIP: eips[0] },
    nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
  },
});

// The controller (not measured) and a fake agent for gw-1 plus the parents of the worker tunnels,
// so the measured agent has peers to steer to.
const controller = new EgressController({
  client,
  settings: {
    eipEvictionTimeoutMs: EVICT_MS,
    tunnelMonitorPeriodMs: 5000,
    rebalance: false,
    detection: 'deadline',
    tunnelIpv4Cidr: '198.19.255.0/24',
    tunnelIpv6Cidr: '',
  },
});
controller.start();
await controller.waitForSync();
const term = new AbortController();
void controller.lead(term.signal);
const others = ['gw-1', ...workers];
const parentsWritten = new Set();
const fakeAgents = setInterval(() => {
  for (const [i, name] of others.entries()) {
    if (name !== 'gw-1' && parentsWritten.has(name)) continue;
    const parent = { tunnel: { parent: { name: 'eth0', ipv4: `198.18.1.${11 + i}` } } };
    const status = name === 'gw-1' ? { ...parent, lastHeartbeatTime: new Date().toISOString() } : parent;
    client.patchStatus(EGRESS_TUNNELS, name, undefined, { status }).then(
      () => parentsWritten.add(name),
      () => undefined, // not created yet
    );
  }
}, UPDATE_MS);

// ---------------------------------------------------------------- the agent
// The agent child runs bundled, like the shipped bin (dist/bin.js); EGW_BENCH_UNBUNDLED=1 runs it
// from the unbundled library build instead, to compare. EGW_BENCH_AGENT_ARGS adds node flags.
const agentScript = process.env.EGW_BENCH_UNBUNDLED
  ? 'agent-child.mjs'
  : await bundleChild(`${here}agent-child.mjs`, `${here}dist/agent-child.mjs`);
// The node flags of the shipped bin (its shebang), so the child runs with the same V8 settings.
const agentFlags = [
  ...binNodeFlags(`${here}../dist/bin.js`),
  ...(process.env.EGW_BENCH_AGENT_ARGS?.split(' ').filter(Boolean) ?? []),
];
console.log(
  `agent child: ${process.env.EGW_BENCH_UNBUNDLED ? 'unbundled library build' : 'bundled like dist/bin.js'}, node flags ${JSON.stringify(agentFlags)}`,
);
const agent = await forkChild(agentScript, ['--expose-gc', ...agentFlags]);
const started = Date.now();
await agent.ask({
  type: 'start',
  kubeconfigYaml: server.first.kubeconfigYaml,
  settings: {
    nodeName: 'gw-0',
    egressInterface: 'eth0',
    parent: { name: 'eth0', ipv4: '198.18.1.10' },
    tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, ipv4Cidr: '198.19.255.0/24' },
    updatePeriodMs: UPDATE_MS,
    evictionTimeoutMs: EVICT_MS,
    fenceMarginMs: MARGIN_MS,
  },
});
for (;;) {
  const s = await agent.ask({ type: 'state' });
  if (s.heartbeats.length > 0 && !s.fenced) break;
  if (Date.now() - started > 30_000) throw new Error('the agent did not start heartbeating in 30 s');
  await sleep(200);
}
const results = {};

async function window(name) {
  await agent.ask({ type: 'resetPeak' });
  const u0 = await agent.ask({ type: 'usage' });
  const t0 = Date.now();
  await sleep(WINDOW_MS);
  const u1 = await agent.ask({ type: 'usage' });
  const elapsed = Date.now() - t0;
  const st = await agent.ask({ type: 'state', since: t0 });
  const gc = await agent.ask({ type: 'usage', gc: true });
  results[name] = {
    cpuPct: ((cpuMs(u1) - cpuMs(u0)) / elapsed) * 100,
    desiredPerS: ((u1.desiredRuns.count - u0.desiredRuns.count) / elapsed) * 1000,
    loopDelay: u1.loopDelay,
    rss: u1.mem.rss,
    peakRss: u1.peakRss,
    heapUsed: u1.mem.heapUsed,
    rssAfterGc: gc.mem.rss,
    heapAfterGc: gc.mem.heapUsed,
    heartbeats: st.heartbeats,
    state: st,
  };
}

// Idle: selected gateway node, no policies.
await sleep(3000);
await window('idle');

// Load: 1 000 pods and 1 000 policies.
const loadStart = Date.now();
const u0 = await agent.ask({ type: 'usage' });
await agent.ask({ type: 'resetPeak' });
const applies0 = (await agent.ask({ type: 'state' })).binder.applies;
const podNames = Array.from({ length: PODS }, (_, i) => `pod-${i}`);
await pool(podNames, 16, async (name) => {
  const i = Number(name.slice(4));
  await call(base, 'POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: `p-${i}` } },
    spec: { nodeName: i % 4 === 0 ? 'gw-0' : workers[i % WORKERS], containers: [{ name: 'c', image: 'x' }] },
  });
  const ip = `198.19.${Math.floor(i / 250)}.${(i % 250) + 2}`;
  await call(
    base,
    'PATCH',
    `/api/v1/namespaces/default/pods/${name}/status`,
    { status: { podIP: ip, podIPs: [{ ip }] } },
    'application/merge-patch+json',
  );
});
await pool(
  Array.from({ length: POLICIES }, (_, i) => i),
  16,
  (i) =>
    call(base, 'POST', `${GROUP}/namespaces/default/egresspolicies`, {
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressPolicy',
      metadata: { name: `p-${i}`, namespace: 'default' },
      spec: {
        egressGatewayName: 'egw',
        egressIP: { allocatorPolicy: 'rr' },
        appliedTo: { podSelector: { matchLabels: { app: `p-${i}` } } },
        destSubnet: ['203.0.113.0/24'],
      },
    }),
);
const created = Date.now();
// Converged: every policy placed by the controller, and the agent's last apply binds the EIPs placed
// on this node and has the SNAT rules of every placed policy (a gateway node SNATs for all EIPs of
// its gateway, so a move needs no nftables change).
let converged;
for (;;) {
  const placed = controller.policies.list().filter((p) => p.status?.node).length;
  const st = await agent.ask({ type: 'state' });
  const mine = controller.policies.list().filter((p) => p.status?.node === 'gw-0');
  const onMe = mine.length;
  const eipsOnMe = new Set(mine.map((p) => p.status?.eip?.ipv4)).size;
  if (
    placed === POLICIES &&
    st.binder.last.snat === placed &&
    st.binder.last.eips === eipsOnMe &&
    onMe > 0 &&
    st.binder.last.at > created
  ) {
    converged = { at: st.binder.last.at, st, onMe };
    await sleep(1000);
    const again = await agent.ask({ type: 'state' });
    if (again.binder.last.at === st.binder.last.at) break;
  }
  debug('converging', placed, onMe, JSON.stringify(st.binder), st.fenced, st.assignedEips);
  if (Date.now() - loadStart > 90_000) {
    // Reported, not thrown: a datapath that never matches the status is a finding.
    converged = {
      at: Number.NaN,
      st,
      onMe,
      failed: `placed ${placed}, on this node ${onMe}, last apply ${JSON.stringify(st.binder.last)}, fenced ${st.fenced}`,
    };
    break;
  }
  await sleep(250);
}
const u1 = await agent.ask({ type: 'usage' });
const loadSt = await agent.ask({ type: 'state', since: loadStart });
results.load = {
  createMs: created - loadStart,
  convergeMs: converged.at - loadStart,
  afterCreateMs: converged.at - created,
  cpuPct: ((cpuMs(u1) - cpuMs(u0)) / (Date.now() - loadStart)) * 100,
  cpuS: (cpuMs(u1) - cpuMs(u0)) / 1000,
  desiredRuns: u1.desiredRuns.count - u0.desiredRuns.count,
  desiredMs: u1.desiredRuns.ms - u0.desiredRuns.ms,
  desiredMax: u1.desiredRuns.max,
  loopDelay: u1.loopDelay,
  peakRss: u1.peakRss,
  applies: loadSt.binder.applies - applies0,
  last: loadSt.binder.last,
  onMe: converged.onMe,
  failed: converged.failed,
  heartbeats: loadSt.heartbeats,
  fencings: loadSt.fencings,
  heartbeatFailures: loadSt.heartbeatFailures,
};

// Loaded steady state.
await sleep(3000);
await window('loaded');
const cost = await agent.ask({ type: 'desiredCost', runs: 10 });
results.desiredMs = percentile(cost.times, 50);

// ---------------------------------------------------------------- report
clearInterval(fakeAgents);
const final = await agent.ask({ type: 'usage' });
const allBeats = (await agent.ask({ type: 'state', since: started })).heartbeats;
const apiUsage = await askOnce(server.child, 'usage');
await agent.ask({ type: 'stop' });
await stopChild(agent.child);
term.abort();
await controller.stop();
await stopChild(server.child);
http.destroy();

const { idle, load, loaded } = results;
console.log(
  `agent benchmark: heartbeat every ${UPDATE_MS / 1000} s, eviction ${EVICT_MS / 1000} s, margin ${MARGIN_MS / 1000} s; ` +
    `${POLICIES} policies (rr over ${EIPS} EIPs), ${PODS} pods (1/4 on this node), ${WORKERS} workers + 2 gateway nodes; windows of ${WINDOW_MS / 1000} s\n`,
);
const rows = [
  ['idle: CPU (one core = 100 %)', `${fmt(idle.cpuPct, 2)} %`],
  [
    'idle: RSS / peak / heap used',
    `${fmt(mb(idle.rss), 1)} / ${fmt(mb(idle.peakRss), 1)} / ${fmt(mb(idle.heapUsed), 1)} MB`,
  ],
  [
    'idle: after a forced full GC: RSS / heap used',
    `${fmt(mb(idle.rssAfterGc), 1)} / ${fmt(mb(idle.heapAfterGc), 1)} MB`,
  ],
  ['idle: heartbeat write latency', latencyText(idle.heartbeats)],
  [
    'idle: desired-state recomputations/s; event-loop delay max',
    `${fmt(idle.desiredPerS, 1)} /s; ${fmt(idle.loopDelay.max)} ms`,
  ],
  ['load: create pods + policies through the API', `${fmt(load.createMs / 1000, 1)} s`],
  [
    'load: first object -> datapath with all policies applied',
    `${fmt(load.convergeMs / 1000, 1)} s (${fmt(load.afterCreateMs / 1000, 1)} s after the last create)`,
  ],
  ...(load.failed ? [['load: DID NOT CONVERGE within 90 s', load.failed]] : []),
  [
    'load: applies (coalesced) / final datapath',
    `${load.applies} / ${load.last.eips} EIPs, ${load.last.snat} SNAT rules (${load.last.snatSources} sources), ${load.last.steering} steering rules (${load.last.steeringSources} sources)`,
  ],
  [
    'load: CPU over the phase / peak RSS',
    `${fmt(load.cpuPct, 1)} % (${fmt(load.cpuS, 1)} s) / ${fmt(mb(load.peakRss), 1)} MB`,
  ],
  ['load: heartbeat write latency', latencyText(load.heartbeats)],
  [
    'load: desired-state recomputations (total, longest)',
    `${load.desiredRuns} (${fmt(load.desiredMs / 1000, 1)} s, longest ${fmt(load.desiredMax)} ms)`,
  ],
  ['load: event-loop delay p99 / max', `${fmt(load.loopDelay.p99)} / ${fmt(load.loopDelay.max)} ms`],
  ['load: self-fencings / heartbeat failures', `${load.fencings} / ${load.heartbeatFailures}`],
  [`loaded (${POLICIES} policies): CPU`, `${fmt(loaded.cpuPct, 2)} %`],
  [
    `loaded (${POLICIES} policies): RSS / peak / heap used`,
    `${fmt(mb(loaded.rss), 1)} / ${fmt(mb(loaded.peakRss), 1)} / ${fmt(mb(loaded.heapUsed), 1)} MB`,
  ],
  [
    `loaded (${POLICIES} policies): after a forced full GC`,
    `${fmt(mb(loaded.rssAfterGc), 1)} / ${fmt(mb(loaded.heapAfterGc), 1)} MB`,
  ],
  [`loaded (${POLICIES} policies): heartbeat write latency`, latencyText(loaded.heartbeats)],
  [
    `loaded (${POLICIES} policies): desired recomputations/s; loop delay max`,
    `${fmt(loaded.desiredPerS, 1)} /s; ${fmt(loaded.loopDelay.max)} ms`,
  ],
  ['heartbeat write latency over the whole run', latencyText(allBeats)],
  ['one desired-state computation at this size (median of 10)', `${fmt(results.desiredMs, 1)} ms`],
  [
    'max RSS of the agent process (whole run)',
    `${fmt(mb(final.maxRss), 1)} MB  (API server RSS ${fmt(mb(apiUsage.mem.rss), 1)} MB)`,
  ],
];
for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v}`);
const peak = Math.max(idle.peakRss, load.peakRss, loaded.peakRss);
console.log('\nratios:');
console.log(
  `  loaded / idle: RSS ${fmt(loaded.rss / idle.rss, 2)}x, CPU ${fmt(loaded.cpuPct / idle.cpuPct, 2)}x, heartbeat p50 ${fmt(
    percentile(
      loaded.heartbeats.map((h) => h.ackAt - h.sentAt),
      50,
    ) /
      percentile(
        idle.heartbeats.map((h) => h.ackAt - h.sentAt),
        50,
      ),
    2,
  )}x`,
);
console.log(
  `  target RSS < 80 MB: peak RSS ${fmt(mb(peak), 1)} MB = ${fmt(mb(peak) / 80, 2)}x of target -> ${mb(peak) < 80 ? 'MET' : 'NOT MET'}`,
);
