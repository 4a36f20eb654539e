import { hostname } from 'node:os';
import { LeaderElector } from '@egressgateway/election';
import { KubernetesLeaseLock } from '@egressgateway/election/kubernetes';
import {
  buildAppProgram,
  createLogger,
  EventRecorder,
  KubeClient,
  KubeEventSink,
  loadKubeConfig,
  runApp,
  separateMetricsAddress,
  sleep,
  startHealthServer,
  systemClock,
} from '@egressgateway/kube';
import { CoordinationV1Api, type KubeConfig, Watch } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { EgressController } from './controller.js';
import { createControllerMetrics } from './metrics.js';
import {
  CONTROLLER_OPTIONS,
  type ControllerSettings,
  controllerNamespace,
  leaderElectionLease,
  timingWarnings,
  webhookHosts,
} from './settings.js';
import { type AdmissionWebhook, startAdmissionWebhook } from './webhook/start.js';

/** A running controller process. */
export interface RunningController {
  readonly controller: EgressController;
  readonly elector: LeaderElector;
  readonly healthUrl: string;
  /** The admission webhook's URL once it serves (with `webhookAddress` set, after the caches synced). */
  readonly webhookUrl: () => string | undefined;
  /** Graceful stop: release the lease, stop informers, close the server. */
  stop(): Promise<void>;
}

/** Options of {@link main}: resolved settings, and optionally a KubeConfig object (tests). */
export interface MainOptions {
  settings: ControllerSettings;
  kubeConfig?: KubeConfig;
}

/**
 * Starts the controller: informers, health/metrics server, leader election on a Lease; the
 * leader reconciles. Returns a handle whose `stop()` shuts down gracefully.
 *
 * @example
 * const running = await main({ settings: resolveConfig(CONTROLLER_OPTIONS, { env: process.env }) });
 * process.once('SIGTERM', () => void running.stop());
 */
export async function main(options: MainOptions): Promise<RunningController> {
  const s = options.settings;
  const log = createLogger({
    level: s.logLevel,
    ...(s.logFormat ? { format: s.logFormat } : {}),
    name: 'egw-controller',
  });
  for (const w of timingWarnings(s)) log.warn({ code: w.code }, w.message);
  const kc = options.kubeConfig ?? loadKubeConfig(s.kubeconfig);
  const client = new KubeClient(kc);
  const identity = s.identity ?? `${hostname()}-${process.pid}`;
  const metrics = createControllerMetrics();
  const events = new EventRecorder(new KubeEventSink(kc), {
    component: 'egressgateway-controller',
    instance: identity,
    logger: log,
  });
  const controller = new EgressController({
    client,
    settings: s,
    logger: log,
    metrics,
    events,
    gatewayFailover: s.gatewayFailover,
    endpointSlices: { maxPerSlice: s.maxNumberEndpointPerSlice },
    // The agents renew their heartbeat Leases in their own namespace, the release's, as ours.
    heartbeatNamespace: controllerNamespace(s),
  });
  controller.start();
  let webhook: AdmissionWebhook | undefined;
  let stopped = false;
  const health = await startHealthServer({
    address: s.healthAddress,
    ready: () => controller.synced() && (!s.webhookAddress || webhook !== undefined),
    registry: metrics.registry,
  });
  const metricsAddress = separateMetricsAddress(s);
  const metricsServer = metricsAddress
    ? await startHealthServer({
        address: metricsAddress,
        ready: () => controller.synced(),
        registry: metrics.registry,
      })
    : undefined;
  const lease = leaderElectionLease(s);
  if (lease.namespaceFrom === 'fallback')
    log.warn(
      { lease: `${lease.namespace}/${lease.name}` },
      'lease namespace unknown (no POD_NAMESPACE or leader election namespace): using the fallback',
    );
  // Built from named imports rather than KubernetesLeaseLock.fromKubeConfig, whose dynamic
  // import of the whole client-node namespace would pull every generated model into the bundled bin.
  const lock = new KubernetesLeaseLock({
    namespace: lease.namespace,
    name: lease.name,
    logger: log,
    api: kc.makeApiClient(CoordinationV1Api),
    watch: new Watch(kc),
  });
  const elector = new LeaderElector({
    lock,
    identity,
    leaseDurationMs: s.leaseDurationMs,
    renewDeadlineMs: s.renewDeadlineMs,
    retryPeriodMs: s.retryPeriodMs,
    logger: log,
    onStartedLeading: async (signal) => {
      await controller.waitForSync();
      await controller.lead(signal);
    },
    onNewLeader: (leader) => log.info({ leader }, 'leader observed'),
  });
  elector.start();
  // Every replica serves admission (not only the leader), once its caches are warm; until it
  // serves, the replica is not ready, so the webhook Service sends it nothing.
  if (s.webhookAddress) void serveWebhook(s.webhookAddress);
  async function serveWebhook(address: string): Promise<void> {
    await controller.waitForSync();
    for (let attempt = 1; !stopped; attempt++) {
      try {
        webhook = await startAdmissionWebhook({
          address,
          client,
          caches: controller,
          families: { ipv4: s.tunnelIpv4Cidr !== '', ipv6: s.tunnelIpv6Cidr !== '' },
          secret: { namespace: controllerNamespace(s), name: s.webhookSecret },
          configurationName: s.webhookConfiguration,
          hosts: webhookHosts(s),
          certValidityMs: s.webhookCertValidityMs,
          logger: log,
          metrics,
        });
        if (stopped) await webhook.close();
        return;
      } catch (err) {
        const retryMs = Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5));
        log.error({ err, attempt, retryMs }, 'admission webhook failed to start; retrying');
        await sleep(systemClock, retryMs);
      }
    }
  }
  log.info(
    {
      identity,
      health: health.url,
      ...(metricsServer ? { metrics: metricsServer.url } : {}),
      lease: `${lease.namespace}/${lease.name}`,
      tunnelUpdatePeriodMs: s.tunnelUpdatePeriodMs,
      eipEvictionTimeoutMs: s.eipEvictionTimeoutMs,
      tunnelMonitorPeriodMs: s.tunnelMonitorPeriodMs,
      detection: s.detection,
    },
    'controller started',
  );
  let stopping: Promise<void> | undefined;
  return {
    controller,
    elector,
    healthUrl: health.url,
    webhookUrl: () => webhook?.url,
    stop: () => {
      stopping ??= (async () => {
        stopped = true;
        log.info({}, 'shutting down: releasing the lease');
        await webhook?.close();
        await elector.stop();
        await controller.stop();
        await events.flush();
        await health.close();
        await metricsServer?.close();
        log.info({}, 'stopped');
      })();
      return stopping;
    },
  };
}

const CLI = {
  name: 'egw-controller',
  description: 'egressgateway controller: moves egress IPs off failed gateway nodes',
  options: CONTROLLER_OPTIONS,
};

/** The `egw-controller` command line. */
export function buildProgram(): Command {
  return buildAppProgram(CLI.name, CLI.description, CLI.options);
}

/** Runs the CLI; SIGTERM/SIGINT stop gracefully and exit 0. */
export function runCli(argv = process.argv): Promise<void> {
  return runApp({ ...CLI, start: (settings) => main({ settings }), argv });
}
