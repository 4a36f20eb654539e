import { join } from 'node:path';
import type { LabPlan, NodePlan } from './plan.js';
import type { LabTiming } from './settings.js';

/** Command-line arguments (after the executable) of the lab's API server (pure). */
export function apiServerArgs(plan: LabPlan, runDir: string): string[] {
  return [
    '--host',
    plan.api4,
    '--port',
    String(plan.apiPort),
    '--data-dir',
    join(runDir, 'apiserver-data'),
    '--kubeconfig-out',
    join(runDir, 'kubeconfig'),
  ];
}

/**
 * Arguments of controller replica `id` (pure). Replicas share the control namespace, so each
 * gets its own health port (8790 + index).
 */
export function controllerArgs(
  plan: LabPlan,
  runDir: string,
  timing: LabTiming,
  o: { id: string; index: number; detection: 'deadline' | 'poll' },
): string[] {
  return [
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
    '--leader-election-lease-duration',
    String(timing.leaseDuration),
    '--leader-election-renew-deadline',
    String(timing.renewDeadline),
    '--leader-election-retry-period',
    String(timing.retryPeriod),
    '--tunnel-ipv4-cidr',
    plan.tunnelIpv4Cidr,
    '--tunnel-ipv6-cidr',
    plan.tunnelIpv6Cidr,
    '--log-format',
    'json',
  ];
}

/** Arguments of a node's agent (pure); the tunnel ranges must equal the controller's. */
export function agentArgs(plan: LabPlan, runDir: string, timing: LabTiming, node: NodePlan): string[] {
  return [
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
    plan.tunnelIpv4Cidr,
    '--tunnel-ipv6-cidr',
    plan.tunnelIpv6Cidr,
    '--health-address',
    node.health,
    '--log-format',
    'json',
  ];
}
