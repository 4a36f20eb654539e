import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ApiServer, startApiServer } from '../src/index.js';
import { eventually, WIDGET_CRD } from './cluster.js';
import { haveKubectl, kubectl, kubectlStream } from './kubectl.js';

const PRODUCT_MANIFESTS = new URL('../../crds/manifests/', import.meta.url).pathname;
const hasKubectl = haveKubectl();
if (!hasKubectl)
  console.log('skipping kubectl tests: no kubectl binary on PATH (.ci/run installs kubernetes-client)');

describe.skipIf(!hasKubectl)('kubectl 1.32 against the embedded server', () => {
  let server: ApiServer;
  let dir: string;
  let kc: string;
  let cache: string;
  const k = (...args: string[]) => kubectl(kc, cache, args);
  const file = (name: string, doc: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof doc === 'string' ? doc : stringify(doc));
    return p;
  };
  const headerOf = (out: string) => (out.split('\n')[0] ?? '').trim().split(/\s+/);

  beforeAll(async () => {
    server = await startApiServer({ port: 0 });
    dir = mkdtempSync(join(tmpdir(), 'egw-kubectl-'));
    kc = file('kubeconfig', server.kubeconfigYaml);
    cache = join(dir, 'cache');
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a CRD and custom resources with default validation, prints printer columns, patches and deletes', async () => {
    expect((await k('apply', '-f', file('crd.yaml', WIDGET_CRD))).stdout).toContain(
      'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created',
    );
    const w1 = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w1', labels: { app: 'demo' } },
      spec: { size: 3 },
    };
    expect((await k('apply', '-f', file('w1.yaml', w1))).stdout).toContain('widget.example.com/w1 created');
    expect((await k('apply', '-f', file('w1.yaml', { ...w1, spec: { size: 5 } }))).stdout).toContain(
      'widget.example.com/w1 configured',
    );
    expect((await k('apply', '-f', file('w1.yaml', { ...w1, spec: { size: 5 } }))).stdout).toContain(
      'widget.example.com/w1 unchanged',
    );
    expect(
      (
        await k(
          'patch',
          'wd',
          'w1',
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"phase":"Ready"}}',
        )
      ).code,
    ).toBe(0);
    const table = await k('get', 'wd');
    expect(headerOf(table.stdout)).toEqual(['NAME', 'SIZE', 'PHASE', 'AGE']);
    expect(table.stdout.split('\n')[1]).toMatch(/^w1\s+5\s+Ready\s+\d+s$/);
    const all = await k('get', 'widgets', '-A', '--show-labels');
    expect(headerOf(all.stdout)).toEqual(['NAMESPACE', 'NAME', 'SIZE', 'PHASE', 'AGE', 'LABELS']);
    expect(all.stdout).toContain('app=demo');
    const yaml = await k('get', 'widget', 'w1', '-o', 'yaml');
    expect(yaml.stdout).toContain('color: red');
    expect(yaml.stdout).toContain('phase: Ready');
    const bad = await k(
      'apply',
      '-f',
      file('bad.yaml', { ...w1, metadata: { name: 'bad' }, spec: { size: 0, color: 'green' } }),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The Widget "bad" is invalid');
    expect(bad.stderr).toContain(
      'spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1',
    );
    const unknown = await k(
      'apply',
      '-f',
      file('unk.yaml', { ...w1, metadata: { name: 'unk' }, spec: { size: 1, foo: 1 } }),
    );
    expect(unknown.stderr).toContain('strict decoding error: unknown field "spec.foo"');
    const smp = await k('patch', 'wd', 'w1', '-p', '{"spec":{"size":7}}');
    expect(smp.stderr).toContain('application/strategic-merge-patch+json is not supported');
    expect((await k('delete', 'wd', 'w1')).stdout).toContain('widget.example.com "w1" deleted');
    expect((await k('get', 'wd')).stderr).toContain('No resources found in default namespace.');
  });

  it('creates a namespace (protobuf body) and applies, labels and re-applies a Node (strategic merge patch)', async () => {
    expect((await k('create', 'namespace', 'demo')).stdout).toContain('namespace/demo created');
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-1', labels: { egress: 'true' } },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } },
    };
    expect((await k('apply', '-f', file('node.yaml', node))).code).toBe(0);
    expect((await k('label', 'node', 'node-1', 'extra=1')).code).toBe(0);
    const again = await k(
      'apply',
      '-f',
      file('node.yaml', { ...node, metadata: { ...node.metadata, labels: { egress: 'false' } } }),
    );
    expect(again.stdout).toContain('node/node-1 configured');
    const nodes = await k('get', 'nodes', '--show-labels');
    expect(headerOf(nodes.stdout)).toEqual(['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'LABELS']);
    expect(nodes.stdout).toMatch(/node-1\s+Ready\s+<none>\s+\d+s\s+v1\.32\.0\s+egress=false,extra=1/);
  });

  it('streams changes to kubectl get -w', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' }, data: { a: '1' } };
    await k('apply', '-f', file('cm.yaml', cm));
    const w = kubectlStream(kc, cache, ['get', 'configmaps', '-w']);
    try {
      await eventually(() => w.output().includes('watched'), 10_000);
      await k('apply', '-f', file('cm.yaml', { ...cm, data: { a: '1', b: '2' } }));
      await eventually(() => /watched\s+2\s+/.test(w.output()), 10_000);
    } finally {
      w.child.kill();
    }
    expect(headerOf(w.output())).toEqual(['NAME', 'DATA', 'AGE']);
  });

  const hasProduct =
    existsSync(PRODUCT_MANIFESTS) && readdirSync(PRODUCT_MANIFESTS).some((f) => f.endsWith('.yaml'));
  it.skipIf(!hasProduct)(
    'applies the product CRDs and the seed EgressGateway; kubectl get egt prints the seed columns',
    async () => {
      const applied = await k('apply', '-f', PRODUCT_MANIFESTS);
      expect(applied.code, applied.stderr).toBe(0);
      const seed = `apiVersion: egressgateway.spidernet.io/v1beta1
kind: EgressGateway
metadata:
  name: egw1
spec:
  clusterDefault: true
  ippools:
    ipv4:
      - 10.6.1.55
      - 10.6.1.56
    ipv4DefaultEIP: 10.6.1.56
    ipv6:
      - fd00::55
      - fd00::56
    ipv6DefaultEIP: fd00::55
  nodeSelector:
    selector:
      matchLabels:
        egress: "true"
status:
  nodeList:
    - name: node1
      status: Ready
      eips:
        - ipv4: 10.6.1.56
          ipv6: fd00::55
          policies:
            - name: policy1
              namespace: default
    - name: node2
      status: Ready
`;
      const gw = await k('apply', '-f', file('egw.yaml', seed));
      expect(gw.code, gw.stderr).toBe(0);
      const egwYaml = await k('get', 'egw', 'egw1', '-o', 'yaml');
      expect(egwYaml.stdout).toContain('ipv4DefaultEIP: 10.6.1.56');
      const tunnel = await k(
        'apply',
        '-f',
        file('egt.yaml', {
          apiVersion: 'egressgateway.spidernet.io/v1beta1',
          kind: 'EgressTunnel',
          metadata: { name: 'node1' },
          spec: {},
        }),
      );
      expect(tunnel.code, tunnel.stderr).toBe(0);
      const status = {
        status: {
          tunnel: { mac: '66:50:85:cb:b2:bf', ipv4: '192.200.229.11', ipv6: 'fd01::c486' },
          mark: '0x26d9b723',
          phase: 'Ready',
        },
      };
      const p = await k(
        'patch',
        'egt',
        'node1',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(status),
      );
      expect(p.code, p.stderr).toBe(0);
      const egt = await k('get', 'egt');
      expect(headerOf(egt.stdout)).toEqual([
        'NAME',
        'TUNNELMAC',
        'TUNNELIPV4',
        'TUNNELIPV6',
        'MARK',
        'PHASE',
      ]);
      expect(egt.stdout.split('\n')[1]?.trim().split(/\s+/)).toEqual([
        'node1',
        '66:50:85:cb:b2:bf',
        '192.200.229.11',
        'fd01::c486',
        '0x26d9b723',
        'Ready',
      ]);
      const w = kubectlStream(kc, cache, ['get', 'egt', '-w']);
      try {
        await eventually(() => w.output().includes('node1'), 10_000);
        const timeout = await k(
          'patch',
          'egt',
          'node1',
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"phase":"HeartbeatTimeout"}}',
        );
        expect(timeout.code, timeout.stderr).toBe(0);
        await eventually(
          () => /node1\s+\S+\s+\S+\s+\S+\s+0x26d9b723\s+HeartbeatTimeout/.test(w.output()),
          10_000,
        );
      } finally {
        w.child.kill();
      }
      const del = await k('delete', 'egw', 'egw1');
      expect(del.stdout).toContain('deleted');
      expect((await k('get', 'egw')).stderr).toContain('No resources found');
    },
  );
});
