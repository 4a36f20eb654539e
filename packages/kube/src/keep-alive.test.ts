import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeClient } from './client.js';
import { KeepAliveAgents } from './keep-alive.js';
import type { ResourceRef } from './resources.js';

const ref: ResourceRef = {
  group: 'example.com',
  version: 'v1',
  plural: 'widgets',
  kind: 'Widget',
  namespaced: false,
};

describe('KubeClient connection reuse', () => {
  let server: Server;
  let connections = 0;
  const paths: string[] = [];
  let kc: KubeConfig;

  beforeEach(async () => {
    connections = 0;
    paths.length = 0;
    server = createServer((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }));
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends consecutive requests over one kept-alive connection, with the kubeconfig credentials', async () => {
    let auth: string | undefined;
    server.prependListener('request', (req) => {
      auth = req.headers.authorization;
    });
    const client = new KubeClient(kc);
    for (let i = 0; i < 3; i++) await client.patchStatus(ref, 'w', undefined, { status: { n: i } });
    expect(paths).toEqual(Array(3).fill('PATCH /apis/example.com/v1/widgets/w/status'));
    expect(auth).toBe('Bearer t');
    expect(connections).toBe(1);
  });

  it('(control) client-node alone opens a connection per request', async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (let i = 0; i < 3; i++)
      await api.patchClusterCustomObjectStatus(
        { group: ref.group, version: ref.version, plural: ref.plural, name: 'w', body: { status: { n: i } } },
        opts,
      );
    expect(connections).toBe(3);
  });

  it('passes a client-node 2.x request context (no agents, undici dispatchers) through unchanged', async () => {
    const context = { getDispatcher: () => undefined, setDispatcher: () => {} };
    const out = await new KeepAliveAgents().pre(context as never);
    expect(out).toBe(context);
  });
});
