/**
 * Careless clients, answered as kube-apiserver answers them (issue "Embedded API server: survive
 * hostile and careless clients"): system namespaces cannot be deleted, read parameters are parsed
 * strictly, and metadata of the wrong type is refused before it is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});

async function send(method: string, path: string, body?: unknown) {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { code: r.status, body: (await r.json()) as { message?: string; reason?: string; kind?: string } };
}

describe('system namespaces', () => {
  it.each(['default', 'kube-system', 'kube-public', 'kube-node-lease'])(
    '%s cannot be deleted (403)',
    async (ns) => {
      const r = await send('DELETE', `/api/v1/namespaces/${ns}`);
      expect([r.code, r.body.reason, r.body.message]).toEqual([
        403,
        'Forbidden',
        `namespaces "${ns}" is forbidden: this namespace may not be deleted`,
      ]);
      expect((await send('GET', `/api/v1/namespaces/${ns}`)).code).toBe(200);
    },
  );

  it('another namespace can', async () => {
    await send('POST', '/api/v1/namespaces', { metadata: { name: 'scratch' } });
    expect((await send('DELETE', '/api/v1/namespaces/scratch')).code).toBe(200);
  });
});

describe('read parameters', () => {
  const CM = '/api/v1/namespaces/default/configmaps';
  it.each([
    [`${CM}?resourceVersion=abc`, 'resourceVersion: Invalid value: "abc"'],
    [`${CM}?resourceVersion=-1`, 'resourceVersion: Invalid value: "-1"'],
    [
      `${CM}?resourceVersion=0&resourceVersionMatch=Sometimes`,
      'resourceVersionMatch: Unsupported value: "Sometimes"',
    ],
    [`${CM}?watch=maybe`, 'watch: Invalid value: "maybe"'],
    [`${CM}?watch=true&timeoutSeconds=abc`, 'timeoutSeconds: Invalid value: "abc"'],
    [`${CM}/x?resourceVersion=abc`, 'resourceVersion: Invalid value: "abc"'],
  ])('%s is 400', async (path, message) => {
    const r = await send('GET', path);
    expect(r.code).toBe(400);
    expect(r.body.message).toContain(message);
  });

  it('the forms clients send are accepted', async () => {
    for (const p of [
      `${CM}?resourceVersion=0`,
      `${CM}?resourceVersion=0&resourceVersionMatch=NotOlderThan`,
      `${CM}?watch=false`,
      `${CM}?watch=0`,
    ])
      expect((await send('GET', p)).code, p).toBe(200);
  });
});

describe('metadata of the wrong type', () => {
  it('a custom resource named by an array is refused, not stored unreadable', async () => {
    await send('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Cluster',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    });
    const W = '/apis/example.com/v1/widgets';
    const r = await send('POST', W, {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: ['b17'] },
    });
    expect(r.code).toBe(400);
    expect(r.body.message).toContain('metadata.name must be a string, not an array');
    for (const bad of [{ labels: { a: 1 } }, { annotations: ['x'] }, { namespace: 3, name: 'n' }]) {
      const x = await send('POST', W, {
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w', ...bad },
      });
      expect(x.code, JSON.stringify(bad)).toBe(400);
    }
    expect(
      (await send('POST', W, { apiVersion: 'example.com/v1', kind: ['Widget'], metadata: { name: 'k' } }))
        .code,
    ).toBe(400);
    const list = await send('GET', W);
    expect(list.code).toBe(200);
    expect((list.body as unknown as { items: unknown[] }).items).toEqual([]);
  });
});

describe('custom resources without type metadata', () => {
  it('are refused with what to set', async () => {
    const W = '/apis/example.com/v1/widgets';
    const noKind = await send('POST', W, { apiVersion: 'example.com/v1', metadata: { name: 'nk' } });
    expect([noKind.code, noKind.body.message]).toEqual([
      400,
      expect.stringContaining("Object 'Kind' is missing"),
    ]);
    const noVersion = await send('POST', W, { kind: 'Widget', metadata: { name: 'nv' } });
    expect(noVersion.body.message).toContain("Object 'apiVersion' is missing");
    expect(
      (await send('POST', W, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'ok' } }))
        .code,
    ).toBe(201);
  });
});
