import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEBHOOK_CONFIGURATION, WEBHOOK_SERVICE } from './cluster.js';
import type { LabPlan, NodePlan } from './plan.js';
import type { LabTiming } from './settings.js';

/** Files of a secured API server (images mode): TLS, tokens, audit log. */
export interface SecureApiFiles {
  /** The lab's own (admin) token, `--token-file`. */
  adminTokenFile: string;
  /** The ServiceAccounts' tokens, `--token-auth-file` (kube-apiserver's CSV). */
  tokenAuthFile: string;
  /** Every request as a JSON line, `--audit-log-path`. */
  auditLogPath: string;
}

/**
 * Command-line arguments (after the executable) of the lab's API server (pure). With `secure`
 * (images mode) it serves HTTPS with a certificate for its control-network address (the CA lands
 * in the kubeconfig it writes), requires a token and records every request.
 */
export function apiServerArgs(
  plan: LabPlan,
  runDir: string,
  secure?: SecureApiFiles,
  webhook?: { namespace: string },
): string[] {
  const args = [
    '--host',
    plan.api4,
    '--port',
    String(plan.apiPort),
    '--data-dir',
    join(runDir, 'apiserver-data'),
    '--kubeconfig-out',
    join(runDir, 'kubeconfig'),
  ];
  // The controllers' webhook Service resolves to replica a's port (the replicas share the control
  // namespace with the API server; in a cluster the Service picks a ready replica).
  if (webhook)
    args.push(
      '--webhook-service-address',
      `${webhook.namespace}/${WEBHOOK_SERVICE.name}:${WEBHOOK_SERVICE.port}=127.0.0.1:${webhookPort(0)}`,
    );
  if (secure)
    args.push(
      '--tls',
      '--token-file',
      secure.adminTokenFile,
      '--token-auth-file',
      secure.tokenAuthFile,
      '--audit-log-path',
      secure.auditLogPath,
      // The chart's Roles and bindings (applied by the lab from `helm template`) are enforced.
      '--authorization-mode',
      'RBAC',
    );
  return args;
}

/** The webhook port of controller replica `index` (they share the control namespace: 5822 + index). */
export const webhookPort = (index: number) => WEBHOOK_SERVICE.port + index;

/**
 * Arguments of a controller container, as `charts/egressgateway/templates/controller.yaml` passes
 * them (pure): health address, leader election in the release namespace with the chart's Lease
 * name and the lab's timing, detection, rebalance off (the chart's default), log level and format. Identity comes from `POD_NAME`, the failover
 * timing and tunnel ranges from the mounted `conf.yml`. Replicas share the control namespace
 * (a pod each in a cluster), so each gets its own health port (8790 + index).
 */
export function chartControllerArgs(
  timing: LabTiming,
  o: { index: number; detection: 'deadline' | 'poll'; leaseNamespace: string; leaseName: string },
): string[] {
  return [
    `--health-address=127.0.0.1:${8790 + o.index}`,
    `--leader-election-namespace=${o.leaseNamespace}`,
    `--leader-election-name=${o.leaseName}`,
    `--leader-election-lease-duration=${timing.leaseDuration}`,
    `--leader-election-renew-deadline=${timing.renewDeadline}`,
    `--leader-election-retry-period=${timing.retryPeriod}`,
    `--detection=${o.detection}`,
    '--rebalance=false',
    '--log-level=info',
    '--log-format=json',
    `--webhook-address=127.0.0.1:${webhookPort(o.index)}`,
    `--webhook-service=${WEBHOOK_SERVICE.name}`,
    `--webhook-configuration=${WEBHOOK_CONFIGURATION}`,
    `--webhook-secret=${WEBHOOK_CONFIGURATION}-webhook-ca`,
  ];
}

/**
 * Arguments of an agent container, as `charts/egressgateway/templates/agent.yaml` passes them
 * (pure); the node name comes from `NODE_NAME`, the rest from the mounted `conf.yml`.
 */
export function chartAgentArgs(timing: LabTiming, node: NodePlan): string[] {
  return [
    `--health-address=${node.health}`,
    `--fence-margin=${timing.fenceMargin}`,
    '--conflict-probe-interval=30',
    '--egress-interface=eth0',
    '--log-level=info',
    '--log-format=json',
  ];
}

/**
 * The Lease of the controllers started as processes, named explicitly so the lab does not depend
 * on the controller's defaults.
 */
export const PROCESS_LEASE = { namespace: 'kube-system', name: 'egressgateway-controller' } as const;

/**
 * Arguments of controller replica `id` (pure). Replicas share the control namespace, so each
 * gets its own health port (8790 + index).
 */
export function controllerArgs(
  plan: LabPlan,
  runDir: string,
  timing: LabTiming,
  o: {
    id: string;
    index: number;
    detection: 'deadline' | 'poll';
    gatewayFailover?: boolean;
    ipv4?: boolean;
    ipv6?: boolean;
  },
): string[] {
  return [
    // Upstream's node-ready mode (`gatewayFailover.enable: false`) only when asked for.
    ...(o.gatewayFailover === false ? ['--gateway-failover', 'false'] : []),
    '--kubeconfig',
    join(runDir, 'kubeconfig'),
    '--identity',
    o.id,
    '--health-address',
    `127.0.0.1:${8790 + o.index}`,
    '--tunnel-update-period',
    String(timing.tunnelUpdatePeriod),
    '--eip-eviction-timeout',
    String(timing.eipEvictionTimeout),
    '--tunnel-monitor-period',
    String(timing.tunnelMonitorPeriod),
    '--detection',
    o.detection,
    '--leader-election-namespace',
    PROCESS_LEASE.namespace,
    '--leader-election-name',
    PROCESS_LEASE.name,
    '--leader-election-lease-duration',
    String(timing.leaseDuration),
    '--leader-election-renew-deadline',
    String(timing.renewDeadline),
    '--leader-election-retry-period',
    String(timing.retryPeriod),
    '--tunnel-ipv4-cidr',
    o.ipv4 === false ? '' : plan.tunnelIpv4Cidr,
    '--tunnel-ipv6-cidr',
    o.ipv6 === false ? '' : plan.tunnelIpv6Cidr,
    '--log-format',
    'json',
    // The admission webhook, its Secret in the Lease's namespace (no pod namespace here).
    '--webhook-address',
    `127.0.0.1:${webhookPort(o.index)}`,
    '--pod-namespace',
    PROCESS_LEASE.namespace,
  ];
}

/** Arguments of a node's agent (pure); the tunnel ranges must equal the controller's. */
/** Where the lab puts the gateway peers' key Secret for agents run as processes. */
export const PROCESS_PEER_KEY = { namespace: 'kube-system', name: 'egressgateway-peer-key' } as const;

/**
 * The agent's flags in process mode. `peers`: gateway peers on, with the key Secret the lab
 * creates at {@link PROCESS_PEER_KEY}; off (default) the agents run exactly as without peers.
 */
export function agentArgs(
  plan: LabPlan,
  runDir: string,
  timing: LabTiming,
  node: NodePlan,
  peers = false,
  ipv6 = true,
  ipv4 = true,
): string[] {
  const peerArgs = peers
    ? [
        '--peers',
        'true',
        '--peer-key-namespace',
        PROCESS_PEER_KEY.namespace,
        '--peer-key-secret',
        PROCESS_PEER_KEY.name,
      ]
    : ['--peers', 'false'];
  return [
    ...peerArgs,
    '--node-name',
    node.name,
    '--kubeconfig',
    join(runDir, 'kubeconfig'),
    '--egress-interface',
    'eth0',
    '--tunnel-update-period',
    String(timing.tunnelUpdatePeriod),
    '--eip-eviction-timeout',
    String(timing.eipEvictionTimeout),
    '--fence-margin',
    String(timing.fenceMargin),
    '--tunnel-ipv4-cidr',
    ipv4 ? plan.tunnelIpv4Cidr : '',
    '--tunnel-ipv6-cidr',
    ipv6 ? plan.tunnelIpv6Cidr : '',
    '--health-address',
    node.health,
    '--log-format',
    'json',
  ];
}

/**
 * The node flags of an executable's first line (`#!/usr/bin/env -S node --flag ...`), so the lab
 * runs each bin under the same V8 settings as when it is started directly (the agent's
 * `--lite-mode`, for one, also turns WebAssembly off: the e2e tests must see that).
 */
export function shebangNodeFlags(firstLine: string): string[] {
  if (!firstLine.startsWith('#!')) return [];
  const m = /^#!\S*env\s+(?:-S\s+)?node((?:\s+--\S+)*)\s*$/.exec(firstLine);
  if (!m)
    throw new Error(
      `unexpected first line ${JSON.stringify(firstLine)}: expected #!/usr/bin/env -S node [--flags]`,
    );
  return (m[1] ?? '').split(/\s+/).filter(Boolean);
}

/** `node` arguments that start `bin` as its shebang would: its node flags, then the file. */
export function nodeArgsFor(bin: string): string[] {
  return [...shebangNodeFlags(readFileSync(bin, 'utf8').split('\n', 1)[0] ?? ''), bin];
}
