import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ApiServer, startApiServer } from '../src/index.js';
import { haveKubectl, kubectl } from './kubectl.js';

/** Every kind a chart creates, with the real server's short names and subresources. */
const KINDS = [
  { gv: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', short: ['sa'], status: false, ns: true },
  { gv: 'v1', resource: 'secrets', kind: 'Secret', short: [], status: false, ns: true },
  { gv: 'v1', resource: 'services', kind: 'Service', short: ['svc'], status: true, ns: true },
  { gv: 'v1', resource: 'configmaps', kind: 'ConfigMap', short: ['cm'], status: false, ns: true },
  { gv: 'apps/v1', resource: 'deployments', kind: 'Deployment', short: ['deploy'], status: true, ns: true },
  { gv: 'apps/v1', resource: 'daemonsets', kind: 'DaemonSet', short: ['ds'], status: true, ns: true },
  {
    gv: 'policy/v1',
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    short: ['pdb'],
    status: true,
    ns: true,
  },
  { gv: 'rbac.authorization.k8s.io/v1', resource: 'roles', kind: 'Role', short: [], status: false, ns: true },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    resource: 'rolebindings',
    kind: 'RoleBinding',
    short: [],
    status: false,
    ns: true,
  },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    resource: 'clusterroles',
    kind: 'ClusterRole',
    short: [],
    status: false,
    ns: false,
  },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    resource: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    short: [],
    status: false,
    ns: false,
  },
  {
    gv: 'admissionregistration.k8s.io/v1',
    resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    short: [],
    status: false,
    ns: false,
  },
  {
    gv: 'admissionregistration.k8s.io/v1',
    resource: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration',
    short: [],
    status: false,
    ns: false,
  },
];

describe('built-in kinds a chart creates', () => {
  let server: ApiServer;
  const get = async (path: string, accept?: string) => {
    const r = await fetch(`${server.url}${path}`, accept ? { headers: { accept } } : {});
    return (await r.json()) as Record<string, any>;
  };
  beforeAll(async () => {
    server = await startApiServer({ port: 0 });
  });
  afterAll(async () => server?.close());

  it('are in legacy discovery with their short names, scope and status subresource', async () => {
    for (const k of KINDS) {
      const list = await get(k.gv === 'v1' ? '/api/v1' : `/apis/${k.gv}`);
      const main = list.resources.find((r: any) => r.name === k.resource);
      expect(main, k.resource).toMatchObject({ kind: k.kind, namespaced: k.ns });
      expect(main.shortNames ?? [], k.resource).toEqual(k.short);
      expect(main.verbs.sort()).toEqual(
        ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'].sort(),
      );
      expect(
        list.resources.some((r: any) => r.name === `${k.resource}/status`),
        k.resource,
      ).toBe(k.status);
    }
  });

  it('are in aggregated discovery and have an OpenAPI v3 document with a PATCH operation per kind', async () => {
    const agg = await get('/apis', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const root = await get('/openapi/v3');
    for (const k of KINDS.filter((x) => x.gv !== 'v1')) {
      const [group, version] = k.gv.split('/');
      const g = agg.items.find((x: any) => x.metadata.name === group);
      const v = g?.versions.find((x: any) => x.version === version);
      const r = v?.resources.find((x: any) => x.resource === k.resource);
      expect(r, k.resource).toMatchObject({
        responseKind: { kind: k.kind },
        scope: k.ns ? 'Namespaced' : 'Cluster',
      });
      const docUrl = root.paths[`apis/${k.gv}`]?.serverRelativeURL;
      expect(docUrl, k.gv).toBeDefined();
      const doc = await get(docUrl);
      const gvks = Object.values(doc.paths).map(
        (p: any) => p.patch?.['x-kubernetes-group-version-kind']?.kind,
      );
      expect(gvks, k.kind).toContain(k.kind);
    }
  });
});

const hasKubectl = haveKubectl();
if (!hasKubectl) console.log('skipping kubectl tests of built-in kinds: no kubectl binary on PATH');

describe.skipIf(!hasKubectl)('kubectl 1.32 on the built-in kinds', () => {
  let server: ApiServer;
  let dir: string;
  let kc: string;
  const k = (...args: string[]) => kubectl(kc, join(dir, 'cache'), args);
  const file = (name: string, doc: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, stringify(doc));
    return p;
  };
  const deployment = (image: string, env: { name: string; value: string }[]) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'main', image, env, ports: [{ containerPort: 80 }] },
            { name: 'sidecar', image: 'registry.example/side:1' },
          ],
        },
      },
    },
  });
  beforeAll(async () => {
    server = await startApiServer({ port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'egw-kinds-'));
    kc = join(dir, 'kubeconfig');
    writeFileSync(kc, server.kubeconfigYaml);
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies and re-applies a Deployment (strategic merge by container and env name) and reads it by short name', async () => {
    const first = await k(
      'apply',
      '-f',
      file('d1.yaml', deployment('registry.example/web:1', [{ name: 'A', value: '1' }])),
    );
    expect(first.stderr).toBe('');
    const second = await k(
      'apply',
      '-f',
      file(
        'd2.yaml',
        deployment('registry.example/web:2', [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ]),
      ),
    );
    expect(second.stdout.trim()).toBe('deployment.apps/web configured');
    const out = await k('get', 'deploy', 'web', '-o', 'json');
    const d = JSON.parse(out.stdout);
    expect(d.spec.template.spec.containers.map((c: any) => [c.name, c.image])).toEqual([
      ['main', 'registry.example/web:2'],
      ['sidecar', 'registry.example/side:1'],
    ]);
    expect(d.spec.template.spec.containers[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    expect(d.metadata.generation).toBe(2);
  });

  it('creates a Secret from literals (protobuf body) and applies a Service, read back with the defaults', async () => {
    const created = await k('create', 'secret', 'generic', 's1', '--from-literal=user=admin');
    expect(created.code, created.stderr).toBe(0);
    const s = JSON.parse((await k('get', 'secret', 's1', '-o', 'json')).stdout);
    expect([s.type, s.data]).toEqual(['Opaque', { user: Buffer.from('admin').toString('base64') }]);
    // kubectl's `create service` generator sends a protobuf Service.
    const generated = await k('create', 'service', 'clusterip', 'gen', '--tcp=80:8080');
    expect(generated.code, generated.stderr).toBe(0);
    const gen = JSON.parse((await k('get', 'svc', 'gen', '-o', 'json')).stdout);
    expect(gen.spec).toMatchObject({
      type: 'ClusterIP',
      selector: { app: 'gen' },
      ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }],
    });
    // Any other kind in protobuf is refused with a clear 415, not stored half-empty.
    const deploy = await k('create', 'deployment', 'gen', '--image=registry.example/gen:1');
    expect(deploy.stderr).toContain('protobuf bodies are decoded for');
    const svcApplied = await k(
      'apply',
      '-f',
      file('svc.yaml', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      }),
    );
    expect(svcApplied.code, svcApplied.stderr).toBe(0);
    const svc = JSON.parse((await k('get', 'svc', 'web', '-o', 'json')).stdout);
    expect(svc.spec.clusterIP).toMatch(/^198\.18\.(24\d|25[0-5])\.\d+$/);
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: 'TCP' });
    const names = await k('get', 'sa,cm,pdb,ds', '-o', 'name');
    expect(names.code, names.stderr).toBe(0);
  });
});
