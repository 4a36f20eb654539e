import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';
import { haveKubectl, kubectl } from './kubectl.js';

const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
if (!hasOpenssl) console.log('skipping TLS tests: no openssl binary to generate a self-signed certificate');

describe('bearer token auth over plain HTTP', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ port: 0, token: 's3cret' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('accepts the kubeconfig token and rejects a wrong one with 401', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    const ns = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(ns.items.map((n) => n.metadata?.name)).toContain('default');
    const bad = new KubeConfig();
    bad.loadFromString(server.kubeconfigYaml.replace('token: s3cret', 'token: wrong'));
    const err = await bad
      .makeApiClient(CoreV1Api)
      .listNamespace()
      .catch((e: unknown) => e);
    // client-node does not pass the body of a 401 on; check the code here and the Status body raw.
    expect((err as { code?: number }).code).toBe(401);
    const raw = await fetch(`${server.url}/api/v1/namespaces`, {
      headers: { Authorization: 'Bearer wrong' },
    });
    expect(raw.status).toBe(401);
    expect(await raw.json()).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
  });

  it('serves health without a token', async () => {
    const r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(200);
  });
});

describe.skipIf(!hasOpenssl)('TLS with a self-signed certificate', () => {
  let server: ApiServer;
  let dir: string;
  beforeAll(async () => {
    server = await startApiServer({ port: 0, tls: true, token: 't0ken' });
    dir = mkdtempSync(join(tmpdir(), 'egw-tls-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reachable over https with the CA from its kubeconfig (client-node)', async () => {
    expect(server.url.startsWith('https://')).toBe(true);
    expect(server.kubeconfigYaml).toContain('certificate-authority-data');
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'default' });
    expect(ns.status?.phase).toBe('Active');
  });

  it.skipIf(!haveKubectl())(
    'is accepted by kubectl (Go TLS verification against the embedded CA)',
    async () => {
      const kc = join(dir, 'kubeconfig');
      writeFileSync(kc, server.kubeconfigYaml);
      const r = await kubectl(kc, join(dir, 'cache'), ['get', 'namespace', 'default', '-o', 'name']);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('namespace/default');
    },
  );
});
