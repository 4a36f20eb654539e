import { readFileSync } from 'node:fs';
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
