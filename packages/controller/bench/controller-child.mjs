// The controller under test, alone in its process (built dist), so process.memoryUsage() and
// process.cpuUsage() measure the controller and nothing else. Driven by bench/controller.mjs over IPC.
//
// It captures, from the controller's own log calls, every `update tunnel status to HeartbeatTimeout`
// (with the detection delay the controller computed: reconcile instant minus observedAt + timeout)
// and every EIP move, each stamped with the wall clock (shared with the parent: same machine).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { KubeClient } from '@egressgateway/kube';
import { KubeConfig } from '@kubernetes/client-node';
import { serveParent } from '../../../tools/bench/harness.mjs';
import { createControllerMetrics, EgressController } from '../dist/index.js';

const detections = [];
const moves = [];
const errors = [];
const logger = {
  debug() {},
  info() {},
  warn(fields, message) {
    if (message === 'update tunnel status to HeartbeatTimeout')
      detections.push({ tunnel: fields.tunnel, at: Date.now(), delayMs: fields.detectionDelayMs });
    else if (fields.reason === 'EIPMoved')
      moves.push({ at: Date.now(), from: fields.from, to: fields.to, eip: fields.eip });
  },
  error(fields, message) {
    errors.push({ at: Date.now(), message, ...fields });
  },
  child() {
    return logger;
  },
};

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100);
sampler.unref();

// How long the event loop was blocked: a late timer or watch event is late detection.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

let controller;
let metrics;
let term;

async function counterTotal(counter) {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function handle(m) {
  switch (m.type) {
    case 'start': {
      const kc = new KubeConfig();
      kc.loadFromString(m.kubeconfigYaml);
      metrics = createControllerMetrics();
      controller = new EgressController({
        client: new KubeClient(kc),
        settings: m.settings,
        logger,
        metrics,
      });
      controller.start();
      await controller.waitForSync();
      term = new AbortController();
      void controller.lead(term.signal);
      return { ok: true };
    }
    case 'usage':
      // With m.gc: the live data after two full collections (the child runs with --expose-gc).
      if (m.gc) {
        globalThis.gc?.();
        globalThis.gc?.();
      }
      return {
        mem: process.memoryUsage(),
        cpu: process.cpuUsage(),
        peakRss,
        maxRss: process.resourceUsage().maxRSS * 1024,
        writes: await counterTotal(metrics.writes),
        apiErrors: await counterTotal(metrics.apiErrors),
        reconciles: (await metrics.reconcileDuration.get()).values.find((v) =>
          v.metricName.endsWith('_count'),
        )?.value,
        reconcileSeconds: (await metrics.reconcileDuration.get()).values.find((v) =>
          v.metricName.endsWith('_sum'),
        )?.value,
        loopDelay: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
        apiErrorsBy: (await metrics.apiErrors.get()).values.map(
          (v) => `${v.labels.op} ${v.labels.status}: ${v.value}`,
        ),
      };
    case 'heapSnapshot':
      return { file: writeHeapSnapshot(m.file) };
    case 'resetPeak':
      peakRss = process.memoryUsage.rss();
      loopDelay.reset();
      return { ok: true };
    case 'counts': {
      const phases = {};
      for (const t of controller.tunnels.list()) {
        const p = t.status?.phase ?? 'none';
        phases[p] = (phases[p] ?? 0) + 1;
      }
      const policies = controller.policies.list();
      const placed = policies.filter((p) => p.status?.node).length;
      const holders = [];
      for (const g of controller.gateways.list())
        for (const n of g.status?.nodeList ?? [])
          for (const e of n.eips ?? [])
            if (e.ipv4 || e.ipv6)
              holders.push({
                gateway: g.metadata.name,
                node: n.name,
                eip: e.ipv4 ?? e.ipv6,
                policies: (e.policies ?? []).map((p) => p.name),
              });
      return {
        tunnels: controller.tunnels.list().length,
        phases,
        policies: policies.length,
        placed,
        holders,
      };
    }
    case 'failover': {
      // Everything the parent needs to judge a failover window that started at m.since.
      const writes = controller.writeLog
        .filter((w) => w.at >= m.since)
        .map((w) =>
          w.resource === 'egresstunnels'
            ? { at: w.at, resource: w.resource, name: w.name, phase: w.body?.phase }
            : w.resource === 'egressgateways'
              ? {
                  at: w.at,
                  resource: w.resource,
                  name: w.name,
                  eips: (w.body?.nodeList ?? []).flatMap((n) =>
                    (n.eips ?? []).map((e) => ({ node: n.name, eip: e.ipv4 ?? e.ipv6 })),
                  ),
                }
              : { at: w.at, resource: w.resource, name: w.name, node: w.body?.node },
        );
      const histogram = (await metrics.detectionDelay.get()).values;
      return {
        detections: detections.filter((d) => d.at >= m.since),
        moves: moves.filter((d) => d.at >= m.since),
        errors: errors.filter((d) => d.at >= m.since),
        writes,
        histogram: histogram
          .filter((v) => v.metricName.endsWith('_bucket'))
          .map((v) => ({ le: v.labels.le, count: v.value })),
      };
    }
    case 'stop':
      term?.abort();
      await controller?.stop();
      return { ok: true };
    default:
      throw new Error(`unknown message ${m.type}`);
  }
}

serveParent(handle);
