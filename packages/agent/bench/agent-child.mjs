// The agent under test, alone in its process (built dist), so process.memoryUsage() and
// process.cpuUsage() measure the agent and nothing else. The binder records nothing but counts and
// sizes (no kernel, no root). Driven by bench/agent.mjs over IPC.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KubeClient } from '@egressgateway/kube';
import { KubeConfig } from '@kubernetes/client-node';
import { serveParent } from '../../../tools/bench/harness.mjs';
import { createAgentMetrics, EgressAgent } from '../dist/index.js';

/** A binder that does nothing but remember what it was last asked for. */
class CountingBinder {
  applies = 0;
  renewals = 0;
  withdrawals = 0;
  last = { at: 0, eips: 0, snat: 0, steering: 0, snatSources: 0, steeringSources: 0 };
  async apply(desired) {
    this.applies++;
    this.last = {
      at: Date.now(),
      eips: desired.eips.length,
      snat: desired.snat.length,
      steering: desired.steering.length,
      snatSources: desired.snat.reduce((n, r) => n + r.sources.length, 0),
      steeringSources: desired.steering.reduce((n, r) => n + r.sources.length, 0),
    };
    return { ok: true };
  }
  async renewEips() {
    this.renewals++;
  }
  async withdrawEips() {
    this.withdrawals++;
  }
  async withdrawAll() {
    this.withdrawals++;
  }
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);
sampler.unref();

// How long the event loop was blocked: a blocked loop delays heartbeats and can fence a healthy node.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
// Every recomputation of the desired datapath (counted by wrapping the instance's method).
const desiredRuns = { count: 0, ms: 0, max: 0 };

let agent;
let metrics;
const binder = new CountingBinder();

async function counterTotal(metric) {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function handle(m) {
  switch (m.type) {
    case 'start': {
      const kc = new KubeConfig();
      kc.loadFromString(m.kubeconfigYaml);
      metrics = createAgentMetrics();
      agent = new EgressAgent({ client: new KubeClient(kc), binder, settings: m.settings, metrics });
      const desired = agent.desired.bind(agent);
      agent.desired = () => {
        const t = performance.now();
        try {
          return desired();
        } finally {
          const ms = performance.now() - t;
          desiredRuns.count++;
          desiredRuns.ms += ms;
          desiredRuns.max = Math.max(desiredRuns.max, ms);
        }
      };
      await agent.start();
      return { ok: true };
    }
    case 'usage':
      if (m.gc) {
        globalThis.gc?.();
        globalThis.gc?.();
      }
      return {
        mem: process.memoryUsage(),
        cpu: process.cpuUsage(),
        peakRss,
        maxRss: process.resourceUsage().maxRSS * 1024,
        desiredRuns: { ...desiredRuns },
        loopDelay: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      };
    case 'resetPeak':
      peakRss = process.memoryUsage.rss();
      loopDelay.reset();
      return { ok: true };
    case 'state':
      return {
        heartbeats: agent.heartbeats.filter((h) => h.sentAt >= (m.since ?? 0)),
        binder: {
          applies: binder.applies,
          renewals: binder.renewals,
          withdrawals: binder.withdrawals,
          last: binder.last,
        },
        fenced: agent.isFenced(),
        fencings: await counterTotal(metrics.fencings),
        heartbeatFailures: await counterTotal(metrics.heartbeatFailures),
        applyFailures: await counterTotal(metrics.applyFailures),
        assignedEips: agent.assignedEips().length,
      };
    case 'desiredCost': {
      const desiredNodeStateOnce = Object.getPrototypeOf(agent).desired.bind(agent);
      // What one recomputation of the node's desired datapath costs at the current cache size
      // (it runs, coalesced, on every informer event).
      const times = [];
      for (let i = 0; i < m.runs; i++) {
        const t = performance.now();
        desiredNodeStateOnce();
        times.push(performance.now() - t);
      }
      return { times };
    }
    case 'stop':
      await agent?.stop({ handover: false });
      return { ok: true };
    default:
      throw new Error(`unknown message ${m.type}`);
  }
}

serveParent(handle);
