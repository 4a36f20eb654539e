import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../src/audit.js';
import { type ApiServer, startApiServer } from '../src/server.js';

const here = dirname(fileURLToPath(import.meta.url));
const chart = join(here, 'fixtures', 'mini-chart');
/** Helm v3.17.1 from the toolchain (`node tools/toolchain/install.mjs` extracts it; CI has it). */
const helmBin = join(here, '..', '..', '..', 'tools', 'toolchain', 'bin', 'helm');
const NS = 'demo';

/**
 * The real Helm CLI against the embedded API server: install, list, upgrade, rollback and
 * uninstall of a small chart with one object of each kind a chart creates, plus a CRD in `crds/`.
 * Helm validates with the server's OpenAPI v3 (the fieldValidation check) and never needs
 * `/openapi/v2` here, so no `--disable-openapi-validation`.
 */
describe('helm against the embedded API server', () => {
  let server: ApiServer;
  let kubeconfig: string;
  const records: RequestRecord[] = [];
  const get = async (path: string) => {
    const r = await fetch(`${server.url}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };
  /** Runs Helm without blocking the event loop: the server answers from this same process. */
  const helm = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      const home = dirname(kubeconfig);
      execFile(
        helmBin,
        [...args, '--kubeconfig', kubeconfig],
        {
          encoding: 'utf8',
          timeout: 60_000,
          env: {
            ...process.env,
            HELM_CACHE_HOME: join(home, 'cache'),
            HELM_CONFIG_HOME: join(home, 'config'),
            HELM_DATA_HOME: join(home, 'data'),
          },
        },
        (err, stdout, stderr) =>
          err
            ? reject(new Error(`helm ${args.join(' ')} failed (${err.message}): ${stderr}`))
            : resolve(stdout),
      );
    });

  beforeAll(async () => {
    if (!existsSync(helmBin))
      throw new Error(
        `helm is missing at ${helmBin}: run "node tools/toolchain/install.mjs" (the root "npm ci" runs it)`,
      );
    server = await startApiServer({ port: 0, onRequest: (r) => records.push(r) });
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'egw-helm-')), 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigYaml, { mode: 0o600 });
  });
  afterAll(async () => server?.close());

  it('installs every kind with the defaults a real server fills, and keeps the release in a Secret', async () => {
    await helm(['install', 'mini', chart, '--namespace', NS, '--create-namespace', '--wait=false']);
    const crd = await get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com');
    expect(crd.status).toBe(200);
    expect((await get(`/apis/example.com/v1/namespaces/${NS}/widgets/mini`)).body.spec).toEqual({ size: 1 });
    const secret = await get(`/api/v1/namespaces/${NS}/secrets/mini-secret`);
    expect(secret.body.type).toBe('Opaque');
    expect(secret.body.data).toEqual({ password: Buffer.from('hello').toString('base64') });
    expect(secret.body.stringData).toBeUndefined();
    const svc = (await get(`/api/v1/namespaces/${NS}/services/mini`)).body;
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.clusterIP).toMatch(/^198\.18\.(24\d|25[0-5])\.\d+$/);
    expect(svc.spec.ports).toEqual([{ name: 'metrics', port: 8080, protocol: 'TCP', targetPort: 8080 }]);
    expect(svc.spec.sessionAffinity).toBe('None');
    const deploy = (await get(`/apis/apps/v1/namespaces/${NS}/deployments/mini`)).body;
    expect(deploy.spec.strategy.type).toBe('RollingUpdate');
    expect(deploy.spec.revisionHistoryLimit).toBe(10);
    expect(deploy.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    const ds = (await get(`/apis/apps/v1/namespaces/${NS}/daemonsets/mini-agent`)).body;
    expect(ds.spec.updateStrategy.type).toBe('RollingUpdate');
    for (const path of [
      `/api/v1/namespaces/${NS}/configmaps/mini-config`,
      `/api/v1/namespaces/${NS}/serviceaccounts/mini`,
      `/apis/policy/v1/namespaces/${NS}/poddisruptionbudgets/mini`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles/mini`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings/mini`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/mini-${NS}`,
      `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/mini-${NS}`,
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/mini-${NS}`,
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/mini-${NS}`,
    ])
      expect((await get(path)).status, path).toBe(200);
    const releases = await get(
      `/api/v1/namespaces/${NS}/secrets?labelSelector=${encodeURIComponent('owner=helm,name=mini')}`,
    );
    expect(releases.body.items.map((s: any) => [s.type, s.metadata.labels.version])).toEqual([
      ['helm.sh/release.v1', '1'],
    ]);
    const list = JSON.parse(await helm(['list', '--namespace', NS, '--output', 'json']));
    expect(list.map((r: any) => [r.name, r.status, r.revision])).toEqual([['mini', 'deployed', '1']]);
    // Helm checked its manifests against the OpenAPI v3 documents, never against v2.
    expect(records.some((r) => r.path?.startsWith('/openapi/v3/'))).toBe(true);
    expect(records.filter((r) => r.path === '/openapi/v2')).toEqual([]);
  });

  it('upgrades with a patch that keeps the allocated cluster IP, then rolls back', async () => {
    const ipBefore = (await get(`/api/v1/namespaces/${NS}/services/mini`)).body.spec.clusterIP;
    await helm(['upgrade', 'mini', chart, '--namespace', NS, '--set', 'replicas=2', '--set', 'greeting=bye']);
    const deploy = (await get(`/apis/apps/v1/namespaces/${NS}/deployments/mini`)).body;
    expect(deploy.spec.replicas).toBe(2);
    expect(deploy.spec.template.spec.containers[0].env).toEqual([{ name: 'GREETING', value: 'bye' }]);
    expect(deploy.metadata.generation).toBe(2);
    expect((await get(`/api/v1/namespaces/${NS}/configmaps/mini-config`)).body.data).toEqual({
      greeting: 'bye',
    });
    expect((await get(`/api/v1/namespaces/${NS}/services/mini`)).body.spec.clusterIP).toBe(ipBefore);
    const upgraded = JSON.parse(await helm(['list', '--namespace', NS, '--output', 'json']));
    expect(upgraded.map((r: any) => [r.status, r.revision])).toEqual([['deployed', '2']]);
    expect(records.some((r) => r.verb === 'patch' && r.resource === 'deployments' && r.code === 200)).toBe(
      true,
    );

    await helm(['rollback', 'mini', '1', '--namespace', NS]);
    expect((await get(`/apis/apps/v1/namespaces/${NS}/deployments/mini`)).body.spec.replicas).toBe(1);
    expect((await get(`/api/v1/namespaces/${NS}/configmaps/mini-config`)).body.data).toEqual({
      greeting: 'hello',
    });
    const history = JSON.parse(await helm(['history', 'mini', '--namespace', NS, '--output', 'json']));
    expect(history.map((h: any) => [h.revision, h.status])).toEqual([
      [1, 'superseded'],
      [2, 'superseded'],
      [3, 'deployed'],
    ]);
  });

  it('uninstalls: every templated object and the release Secrets are gone, the CRD stays', async () => {
    await helm(['uninstall', 'mini', '--namespace', NS]);
    for (const path of [
      `/api/v1/namespaces/${NS}/configmaps/mini-config`,
      `/api/v1/namespaces/${NS}/secrets/mini-secret`,
      `/api/v1/namespaces/${NS}/services/mini`,
      `/apis/apps/v1/namespaces/${NS}/deployments/mini`,
      `/apis/apps/v1/namespaces/${NS}/daemonsets/mini-agent`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/mini-${NS}`,
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/mini-${NS}`,
      `/apis/example.com/v1/namespaces/${NS}/widgets/mini`,
    ])
      expect((await get(path)).status, path).toBe(404);
    const releases = await get(`/api/v1/namespaces/${NS}/secrets?labelSelector=owner%3Dhelm`);
    expect(releases.body.items).toEqual([]);
    expect(JSON.parse(await helm(['list', '--namespace', NS, '--output', 'json']))).toEqual([]);
    // Helm never deletes CRDs from crds/.
    expect(
      (await get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com')).status,
    ).toBe(200);
  });
});
