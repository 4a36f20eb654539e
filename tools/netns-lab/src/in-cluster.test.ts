import { buildKubeconfig, kubeconfigYaml, parseTokenFile } from '@egressgateway/apiserver';
import { describe, expect, it } from 'vitest';
import {
  CHART_SERVICE_ACCOUNTS,
  caFromKubeconfig,
  chartConfYaml,
  newLabCredentials,
  serviceAccountUser,
  tokenAuthCsv,
} from './in-cluster.js';
import { planLab } from './plan.js';
import { FAST_TIMING } from './settings.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';

describe('the API server credentials of images mode', () => {
  it('the token file gives each chart ServiceAccount its own token and the user kube-apiserver gives it', () => {
    const c = newLabCredentials();
    expect(new Set([c.admin, c.controller, c.agent]).size).toBe(3);
    const users = parseTokenFile(tokenAuthCsv(c, 'egw'));
    expect(users.map((u) => [u.token, u.user])).toEqual([
      [c.controller, `system:serviceaccount:egw:${CHART_SERVICE_ACCOUNTS.controller}`],
      [c.agent, `system:serviceaccount:egw:${CHART_SERVICE_ACCOUNTS.agent}`],
    ]);
    for (const u of users) expect(u.groups).toEqual(['system:serviceaccounts', 'system:serviceaccounts:egw']);
    // The admin token is not a ServiceAccount's (it goes to --token-file).
    expect(users.some((u) => u.token === c.admin)).toBe(false);
  });

  it('ServiceAccount users are named as kube-apiserver names them', () => {
    expect(serviceAccountUser('ns1', 'sa1')).toEqual({
      user: 'system:serviceaccount:ns1:sa1',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1'],
    });
  });

  it("reads the CA out of the API server's kubeconfig, and nothing out of a plain-HTTP or half-written one", () => {
    const withCa = kubeconfigYaml(buildKubeconfig('https://198.18.128.1:6443', { token: 't', caPem: PEM }));
    expect(caFromKubeconfig(withCa)).toBe(PEM);
    expect(caFromKubeconfig(kubeconfigYaml(buildKubeconfig('http://198.18.128.1:6443', {})))).toBeUndefined();
    const cut = withCa.slice(0, withCa.indexOf('certificate-authority-data:') + 40);
    expect(caFromKubeconfig(cut)).toBeUndefined();
  });
});

describe('chartConfYaml', () => {
  it("renders the chart's feature tree (upstream's conf.yml layout) with the lab's ranges and timing", () => {
    const plan = planLab({ prefix: 'egl-t', gateways: 2, workers: 1 });
    const text = chartConfYaml(plan, FAST_TIMING);
    const lines = text.split('\n');
    expect(lines).toContain(`tunnelIpv4Subnet: "${plan.tunnelIpv4Cidr}"`);
    expect(lines).toContain(`tunnelIpv6Subnet: "${plan.tunnelIpv6Cidr}"`);
    // gatewayFailover's settings are nested under it, as in the chart's values.
    const failover = lines.slice(lines.indexOf('gatewayFailover:') + 1).filter((l) => l.startsWith('  '));
    expect(failover).toEqual([
      '  enable: true',
      '  tunnelMonitorPeriod: 5',
      '  tunnelUpdatePeriod: 0.5',
      '  eipEvictionTimeout: 2',
    ]);
  });
});
