import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { helmAsync } from '../src/helm.js';
import { chartDir } from '../src/paths.mjs';

const NS = 'egressgateway';

/**
 * The chart against the embedded API server with the real Helm CLI: it must serve every kind the
 * chart creates, Helm's release Secrets, and what Helm reads back on upgrade and uninstall.
 */
describe('helm install, upgrade, uninstall against the embedded API server', () => {
  let server: ApiServer;
  let kubeconfig: string;
  let clusterIP = '';
  const get = async (path: string) => {
    const r = await fetch(`${server.url}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };
  // Async: the API server answers from this process, so Helm must not block its event loop.
  const run = async (args: string[]) => {
    const r = await helmAsync([...args, '--kubeconfig', kubeconfig]);
    if (r.status !== 0) throw new Error(`helm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    server = await startApiServer({ port: 0 });
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'egw-helm-')), 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml);
  });
  afterAll(async () => server?.close());

  it('installs the chart: CRDs, RBAC, workloads, the ConfigMap and the release Secret', async () => {
    await run(['install', 'egw', chartDir, '--namespace', NS, '--create-namespace']);
    const crds = await get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
    expect(crds.body.items.map((c: any) => c.metadata.name).sort()).toEqual([
      'egressclusterendpointslices.egressgateway.spidernet.io',
      'egressclusterinfos.egressgateway.spidernet.io',
      'egressclusterpolicies.egressgateway.spidernet.io',
      'egressendpointslices.egressgateway.spidernet.io',
      'egressgateways.egressgateway.spidernet.io',
      'egresspolicies.egressgateway.spidernet.io',
      'egresstunnels.egressgateway.spidernet.io',
    ]);
    const deploy = await get(`/apis/apps/v1/namespaces/${NS}/deployments/egressgateway-controller`);
    expect(deploy.body.spec.replicas).toBe(2);
    // Defaults a real server fills in.
    expect(deploy.body.spec.strategy.type).toBe('RollingUpdate');
    expect((await get(`/apis/apps/v1/namespaces/${NS}/daemonsets/egressgateway-agent`)).status).toBe(200);
    const svc = await get(`/api/v1/namespaces/${NS}/services/egressgateway-controller`);
    clusterIP = svc.body.spec.clusterIP;
    expect(svc.body.spec.clusterIP).toMatch(/^198\.18\.(24\d|25[0-5])\.\d+$/);
    expect(svc.body.spec.ports[0].protocol).toBe('TCP');
    expect(
      (await get(`/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/egressgateway-controller`)).status,
    ).toBe(200);
    expect((await get('/apis/rbac.authorization.k8s.io/v1/clusterroles/egressgateway-agent')).status).toBe(
      200,
    );
    expect((await get(`/api/v1/namespaces/${NS}/serviceaccounts/egressgateway-agent`)).status).toBe(200);
    const releases = await get(`/api/v1/namespaces/${NS}/secrets?labelSelector=owner%3Dhelm,name%3Degw`);
    expect(releases.body.items.map((s: any) => s.type)).toEqual(['helm.sh/release.v1']);
    expect(await run(['list', '--namespace', NS, '--output', 'json'])).toContain('"status":"deployed"');
  });

  it('upgrades: changed values reach the Deployment and conf.yml, and the revision is 2', async () => {
    await run([
      'upgrade',
      'egw',
      chartDir,
      '--namespace',
      NS,
      '--reuse-values',
      '--set',
      'controller.replicas=3',
      '--set',
      'feature.gatewayFailover.eipEvictionTimeout=5',
    ]);
    const deploy = await get(`/apis/apps/v1/namespaces/${NS}/deployments/egressgateway-controller`);
    expect(deploy.body.spec.replicas).toBe(3);
    const cm = await get(`/api/v1/namespaces/${NS}/configmaps/egressgateway`);
    expect(parse(cm.body.data['conf.yml']).gatewayFailover.eipEvictionTimeout).toBe(5);
    // The Service kept the cluster IP it got at install (Helm's three-way merge leaves it alone).
    const svc = await get(`/api/v1/namespaces/${NS}/services/egressgateway-controller`);
    expect(svc.body.spec.clusterIP).toBe(clusterIP);
    const list = JSON.parse(await run(['list', '--namespace', NS, '--output', 'json']));
    expect(list[0].revision).toBe('2');
  });

  it('uninstalls: every object of the release is gone, the CRDs stay (as Helm does)', async () => {
    await run(['uninstall', 'egw', '--namespace', NS]);
    for (const path of [
      `/apis/apps/v1/namespaces/${NS}/deployments/egressgateway-controller`,
      `/apis/apps/v1/namespaces/${NS}/daemonsets/egressgateway-agent`,
      `/api/v1/namespaces/${NS}/configmaps/egressgateway`,
      `/api/v1/namespaces/${NS}/services/egressgateway-controller`,
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/egressgateway-controller',
    ])
      expect((await get(path)).status, path).toBe(404);
    expect((await get(`/api/v1/namespaces/${NS}/secrets?labelSelector=owner%3Dhelm`)).body.items).toEqual([]);
    expect((await get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions')).body.items.length).toBe(7);
  });
});
