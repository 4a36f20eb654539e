import { randomBytes, randomUUID } from 'node:crypto';
import type { LabPlan } from './plan.js';
import type { LabTiming } from './settings.js';

/**
 * What the lab's images mode gives its containers so they run as pods of the Helm chart would:
 * the chart's namespace and ServiceAccounts, a token per ServiceAccount (the API server's static
 * token file), the API server's CA, and the chart's ConfigMap in upstream's `conf.yml` layout.
 * Everything here is pure except {@link newLabCredentials} (random tokens).
 */

/** Release namespace of the chart in the lab (`POD_NAMESPACE`, leader election, ServiceAccounts). */
export const CHART_NAMESPACE = 'egressgateway';

/**
 * ServiceAccounts of `charts/egressgateway` with its default values (`<global.name>-controller`,
 * `<global.name>-agent`, global.name `egressgateway`).
 */
export const CHART_SERVICE_ACCOUNTS = {
  controller: 'egressgateway-controller',
  agent: 'egressgateway-agent',
} as const;

/** The controller's Lease as the chart configures it (`controller.leaderElection.name`, release namespace). */
export const CHART_LEASE = { namespace: CHART_NAMESPACE, name: 'egressgateway' } as const;

/** The user kube-apiserver gives a ServiceAccount token, with the groups it adds. */
export function serviceAccountUser(namespace: string, name: string): { user: string; groups: string[] } {
  return {
    user: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
  };
}

/** The lab's bearer tokens in images mode: one for the lab itself (admin), one per ServiceAccount. */
export interface LabCredentials {
  admin: string;
  controller: string;
  agent: string;
}

/** Fresh random tokens (32 hex bytes each). */
export function newLabCredentials(): LabCredentials {
  const t = () => randomBytes(32).toString('hex');
  return { admin: t(), controller: t(), agent: t() };
}

const csvField = (s: string) => (/[",\s]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * kube-apiserver's static token file (`--token-auth-file`): `token,user,uid,"group1,group2"` for
 * the two ServiceAccounts of the chart (the admin token goes to `--token-file`).
 */
export function tokenAuthCsv(c: LabCredentials, namespace = CHART_NAMESPACE): string {
  const lines = (['controller', 'agent'] as const).map((app) => {
    const { user, groups } = serviceAccountUser(namespace, CHART_SERVICE_ACCOUNTS[app]);
    return [c[app], user, randomUUID(), csvField(groups.join(','))].join(',');
  });
  return `${lines.join('\n')}\n`;
}

/**
 * The CA certificate (PEM) of a kubeconfig the API server wrote (`certificate-authority-data`, a
 * base64 value on one line); undefined when absent (plain HTTP, or the file is half written).
 */
export function caFromKubeconfig(text: string): string | undefined {
  const m = /certificate-authority-data:\s*"?([A-Za-z0-9+/=]+)"?\s*$/m.exec(text);
  if (!m?.[1]) return undefined;
  const pem = Buffer.from(m[1], 'base64').toString('utf8');
  return pem.includes('-----END CERTIFICATE-----') ? pem : undefined;
}

/**
 * The chart's ConfigMap `conf.yml` for the lab's settings: the values' `feature` tree as
 * `charts/egressgateway/templates/configmap.yaml` renders it (upstream's layout), with the lab's
 * tunnel ranges and timing.
 */
export function chartConfYaml(plan: LabPlan, timing: LabTiming): string {
  return [
    'enableIPv4: true',
    'enableIPv6: true',
    `tunnelIpv4Subnet: "${plan.tunnelIpv4Cidr}"`,
    `tunnelIpv6Subnet: "${plan.tunnelIpv6Cidr}"`,
    'vxlan:',
    '  name: "egress.vxlan"',
    '  port: 7789',
    '  id: 100',
    'gatewayFailover:',
    '  enable: true',
    `  tunnelMonitorPeriod: ${timing.tunnelMonitorPeriod}`,
    `  tunnelUpdatePeriod: ${timing.tunnelUpdatePeriod}`,
    `  eipEvictionTimeout: ${timing.eipEvictionTimeout}`,
    '',
  ].join('\n');
}
