import { DatapathBinder, watchLink } from '@egressgateway/datapath';
import {
  buildAppProgram,
  createLogger,
  EventRecorder,
  KubeClient,
  KubeEventSink,
  loadKubeConfig,
  runApp,
  separateMetricsAddress,
  startHealthServer,
  systemClock,
} from '@egressgateway/kube';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { type Binder, EgressAgent } from './agent.js';
import { ConflictWatch } from './conflict-watch.js';
import { detectParentInterface } from './detect.js';
import { eipLeaseMs, eipLifetimeSeconds, fencingWarnings } from './fencing.js';
import { createAgentMetrics } from './metrics.js';
import { setupPeers } from './peer-setup.js';
import { AGENT_OPTIONS, type AgentCliSettings } from './settings.js';

/** A running agent process. */
export interface RunningAgent {
  readonly agent: EgressAgent;
  readonly healthUrl: string;
  /** Planned handover, then withdraw everything owned. */
  stop(): Promise<void>;
}

/** Options of {@link main}. */
export interface AgentMainOptions {
  settings: AgentCliSettings;
  kubeConfig?: KubeConfig;
  /** Replaces the kernel binder (tests). */
  binder?: Binder;
}

/**
 * Starts the agent for this node: detects the egress interface, opens the datapath binder,
 * starts informers, heartbeats and the health server. `stop()` hands the EIPs over and withdraws.
 */
export async function main(options: AgentMainOptions): Promise<RunningAgent> {
  const s = options.settings;
  if (!s.nodeName) throw new Error('nodeName is required: pass --node-name or set NODE_NAME');
  const log = createLogger({
    level: s.logLevel,
    ...(s.logFormat ? { format: s.logFormat } : {}),
    name: 'egw-agent',
  });
  const fencing = { evictionTimeoutMs: s.eipEvictionTimeoutMs, marginMs: s.fenceMarginMs };
  for (const w of fencingWarnings({ ...fencing, updatePeriodMs: s.tunnelUpdatePeriodMs })) log.warn({}, w);
  const parent = await detectParentInterface(s.egressInterface);
  const kc = options.kubeConfig ?? loadKubeConfig(s.kubeconfig);
  const client = new KubeClient(kc);
  const metrics = createAgentMetrics();
  const events = new EventRecorder(new KubeEventSink(kc), {
    component: 'egressgateway-agent',
    instance: s.nodeName,
    logger: log,
  });
  let agentRef: EgressAgent | undefined;
  const peers = s.peers
    ? await setupPeers({ settings: s, parent, client, log, onKeysChanged: () => agentRef?.scheduleApply() })
    : undefined;
  let conflicts: ConflictWatch | undefined;
  const binder =
    options.binder ??
    (await DatapathBinder.open({
      eipLifetimeSeconds: eipLifetimeSeconds(fencing),
      eipLeaseMs: eipLeaseMs(fencing),
      onConflict: (c) => conflicts?.report(c),
    }));
  if (binder instanceof DatapathBinder) {
    const kernel = binder;
    conflicts = new ConflictWatch({
      probe: () => kernel.probeConflicts(),
      clock: systemClock,
      log,
      metrics,
      events,
      nodeName: s.nodeName,
      intervalMs: s.conflictProbeIntervalMs,
    });
  }
  const agent = new EgressAgent({
    client,
    binder,
    logger: log,
    metrics,
    events,
    // The kernel's link notifications, with the kernel binder (a test's binder has no interface).
    ...(binder instanceof DatapathBinder ? { watchEgressLink: watchLink } : {}),
    ...(peers ? { peers: peers.options } : {}),
    settings: {
      nodeName: s.nodeName,
      egressInterface: parent.name,
      parent,
      tunnel: {
        name: s.tunnelDevice,
        vni: s.tunnelVni,
        port: s.tunnelPort,
        ipv4Cidr: s.tunnelIpv4Cidr || undefined,
        ipv6Cidr: s.tunnelIpv6Cidr || undefined,
      },
      updatePeriodMs: s.tunnelUpdatePeriodMs,
      evictionTimeoutMs: s.eipEvictionTimeoutMs,
      fenceMarginMs: s.fenceMarginMs,
      ...(s.podNamespace ? { heartbeatNamespace: s.podNamespace } : {}),
    },
  });
  agentRef = agent;
  const health = await startHealthServer({
    address: s.healthAddress,
    ready: () => agent.synced(),
    registry: metrics.registry,
  });
  const metricsAddress = separateMetricsAddress(s);
  const metricsServer = metricsAddress
    ? await startHealthServer({
        address: metricsAddress,
        ready: () => agent.synced(),
        registry: metrics.registry,
      })
    : undefined;
  await agent.start();
  conflicts?.start();
  log.info(
    {
      node: s.nodeName,
      parent,
      health: health.url,
      ...(metricsServer ? { metrics: metricsServer.url } : {}),
      lifetimeS: eipLifetimeSeconds(fencing),
      leaseMs: eipLeaseMs(fencing),
      peers: peers ? { port: s.peerPort, keys: peers.options.keys().map((k) => k.id) } : false,
    },
    'agent started',
  );
  let stopping: Promise<void> | undefined;
  return {
    agent,
    healthUrl: health.url,
    stop: () => {
      stopping ??= (async () => {
        conflicts?.stop();
        await agent.stop();
        await peers?.stop();
        await events.flush();
        await health.close();
        await metricsServer?.close();
        if (binder instanceof DatapathBinder) binder.close();
      })();
      return stopping;
    },
  };
}

const CLI = {
  name: 'egw-agent',
  description: 'egressgateway agent: heartbeat, node datapath, self-fencing, planned handover',
  options: AGENT_OPTIONS,
};

/** The `egw-agent` command line. */
export function buildProgram(): Command {
  return buildAppProgram(CLI.name, CLI.description, CLI.options);
}

/** Runs the CLI; SIGTERM/SIGINT stop gracefully and exit 0. */
export function runCli(argv = process.argv): Promise<void> {
  return runApp({ ...CLI, start: (settings) => main({ settings }), argv });
}
