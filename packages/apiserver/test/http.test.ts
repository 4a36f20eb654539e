import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';
import { WIDGET_CRD } from './cluster.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0, bookmarkIntervalMs: 100 });
  await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', WIDGET_CRD);
});
afterAll(async () => {
  await server.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { 'Content-Type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const r = await fetch(`${server.url}${path}`, init);
  return {
    code: r.status,
    type: r.headers.get('content-type') ?? '',
    headers: r.headers,
    body: (await r.json()) as Record<string, unknown>,
  };
}

/** Reads a watch stream until `until` lines arrived or the server ends it. */
function watchLines(
  path: string,
  until: number,
  headers: Record<string, string> = {},
): Promise<{ lines: Record<string, unknown>[]; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    const req = request(`${server.url}${path}`, { headers }, (res) => {
      res.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          lines.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
        if (lines.length >= until) {
          req.destroy();
          resolve({ lines, ended: false });
        }
      });
      res.on('end', () => resolve({ lines, ended: true }));
    });
    req.on('error', (e) => (lines.length >= until ? undefined : reject(e)));
    req.end();
  });
}

describe('discovery and OpenAPI', () => {
  it('answers aggregated discovery with the exact content type and falls back to legacy', async () => {
    const agg = await call('GET', '/apis', undefined, {
      Accept:
        'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
    });
    expect(agg.type).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const groups = (
      agg.body.items as {
        metadata: { name: string };
        versions: { resources: { resource: string; shortNames?: string[] }[] }[];
      }[]
    ).map((g) => g.metadata.name);
    expect(groups).toContain('example.com');
    const beta = await call('GET', '/api', undefined, {
      Accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
    });
    expect(beta.type).toBe('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
    expect(beta.body.apiVersion).toBe('apidiscovery.k8s.io/v2beta1');
    const legacy = await call('GET', '/apis/example.com/v1');
    expect(legacy.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'example.com/v1' });
    expect((legacy.body.resources as { name: string }[]).map((r) => r.name)).toEqual([
      'widgets',
      'widgets/status',
    ]);
    expect((await call('GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
  });

  it('publishes an OpenAPI v3 PATCH operation with the GVK and fieldValidation for every kind', async () => {
    const root = await call('GET', '/openapi/v3');
    const paths = root.body.paths as Record<string, { serverRelativeURL: string }>;
    const url = paths['apis/example.com/v1']?.serverRelativeURL ?? '';
    expect(url).toMatch(/^\/openapi\/v3\/apis\/example\.com\/v1\?hash=[0-9A-F]+$/);
    const doc = await call('GET', url);
    const op = (doc.body.paths as Record<string, { patch?: Record<string, unknown> }>)[
      '/apis/example.com/v1/namespaces/{namespace}/widgets/{name}'
    ]?.patch;
    expect(op?.['x-kubernetes-group-version-kind']).toEqual({
      group: 'example.com',
      version: 'v1',
      kind: 'Widget',
    });
    expect(op?.parameters).toContainEqual({
      name: 'fieldValidation',
      in: 'query',
      schema: { type: 'string' },
    });
    expect((await call('GET', '/openapi/v2')).code).toBe(404);
  });
});

describe('resource lifecycle', () => {
  it('generates names from generateName', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { generateName: 'gen-' },
    });
    expect(r.code).toBe(201);
    expect(r.body.metadata).toMatchObject({ name: expect.stringMatching(/^gen-[a-z0-9]{5}$/) });
  });

  it('deleting a namespace removes its objects; deleting a CRD stops serving its resources', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'tmp' } });
    await call('POST', '/apis/example.com/v1/namespaces/tmp/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { size: 1 },
    });
    expect((await call('DELETE', '/api/v1/namespaces/tmp')).code).toBe(200);
    expect((await call('GET', '/apis/example.com/v1/widgets')).body.items).toEqual([]);
    await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      ...WIDGET_CRD,
      metadata: { name: 'gadgets.example.org' },
      spec: { ...WIDGET_CRD.spec, group: 'example.org', names: { plural: 'gadgets', kind: 'Gadget' } },
    });
    expect((await call('GET', '/apis/example.org/v1/gadgets')).code).toBe(200);
    const del = await call(
      'DELETE',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.org',
    );
    expect(del.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: {
        name: 'gadgets.example.org',
        group: 'apiextensions.k8s.io',
        kind: 'customresourcedefinitions',
      },
    });
    expect((await call('GET', '/apis/example.org/v1/gadgets')).code).toBe(404);
  });

  it('deletecollection with dryRun=All (query or DeleteOptions body) deletes nothing', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'dry' } });
    for (const n of ['a', 'b'])
      await call('POST', '/api/v1/namespaces/dry/configmaps', { metadata: { name: n }, data: { k: n } });
    const count = async () =>
      ((await call('GET', '/api/v1/namespaces/dry/configmaps')).body.items as unknown[]).length;
    expect((await call('DELETE', '/api/v1/namespaces/dry/configmaps?dryRun=All')).code).toBe(200);
    expect(await count()).toBe(2);
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] };
    expect((await call('DELETE', '/api/v1/namespaces/dry/configmaps', body)).code).toBe(200);
    expect(await count()).toBe(2);
    expect((await call('DELETE', '/api/v1/namespaces/dry/configmaps')).code).toBe(200);
    expect(await count()).toBe(0);
  });

  it('refuses deletecollection of namespaces with 405, as kube-apiserver does', async () => {
    const r = await call('DELETE', '/api/v1/namespaces');
    expect(r.code).toBe(405);
    expect(((await call('GET', '/api/v1/namespaces')).body.items as unknown[]).length).toBeGreaterThan(0);
  });

  it('rejects an invalid CRD with 422', async () => {
    const r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      metadata: { name: 'x.y' },
      spec: { group: 'y', scope: 'Bad', names: { plural: 'z', kind: 'Z' }, versions: [] },
    });
    expect(r.code).toBe(422);
    expect((r.body.details as { causes: { field: string }[] }).causes.map((c) => c.field)).toEqual([
      'spec.scope',
      'spec.versions',
      'metadata.name',
    ]);
  });

  it('validates metadata.name', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'Bad_Name' } });
    expect(r.code).toBe(422);
    expect(r.body.message).toMatch(
      /^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
  });

  it('returns a Table for the Table Accept header, with rows[].object metadata', async () => {
    await call('POST', '/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 't1', labels: { a: 'b' } },
      spec: { size: 4 },
    });
    const t = await call('GET', '/apis/example.com/v1/namespaces/default/widgets?limit=500', undefined, {
      Accept:
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    });
    expect(t.type).toBe('application/json');
    expect(t.body.kind).toBe('Table');
    const rows = t.body.rows as {
      cells: unknown[];
      object: { metadata: { labels: Record<string, string> } };
    }[];
    expect(rows[0]?.cells.slice(0, 3)).toEqual(['t1', 4, null]);
    expect(rows[0]?.object.metadata.labels).toEqual({ a: 'b' });
  });

  it('answers a warning header for pruned fields under the default fieldValidation', async () => {
    const r = await call('POST', '/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'warn' },
      spec: { size: 1, zzz: 1 },
    });
    expect(r.code).toBe(201);
    expect(r.headers.get('warning')).toBe('299 - "unknown field \\"spec.zzz\\""');
  });

  it('supports dryRun=All without storing', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', {
      metadata: { name: 'dry' },
    });
    expect(r.code).toBe(201);
    expect((await call('GET', '/api/v1/namespaces/default/configmaps/dry')).code).toBe(404);
  });
});

describe('watch over HTTP', () => {
  it('streams one-row Tables with column definitions only on the first event', async () => {
    const list = await call('GET', '/apis/example.com/v1/namespaces/default/widgets');
    const rv = (list.body.metadata as { resourceVersion: string }).resourceVersion;
    const p = watchLines(
      `/apis/example.com/v1/namespaces/default/widgets?resourceVersion=${rv}&watch=true`,
      2,
      { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
    );
    await call('POST', '/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'tw' },
      spec: { size: 2 },
    });
    await call(
      'PATCH',
      '/apis/example.com/v1/namespaces/default/widgets/tw',
      { spec: { size: 3 } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    const { lines } = await p;
    expect(lines.map((l) => l.type)).toEqual(['ADDED', 'MODIFIED']);
    const [first, second] = lines.map(
      (l) => l.object as { kind: string; columnDefinitions: unknown[] | null; rows: { cells: unknown[] }[] },
    );
    expect(first?.kind).toBe('Table');
    expect(first?.columnDefinitions).toHaveLength(4);
    expect(second?.columnDefinitions).toBeNull();
    expect(second?.rows[0]?.cells.slice(0, 2)).toEqual(['tw', 3]);
  });

  it('serves the /watch/ path form, sends bookmarks and ends at timeoutSeconds', async () => {
    await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'wp' } });
    const r = await watchLines(
      '/api/v1/watch/namespaces/default/configmaps/wp?allowWatchBookmarks=true&timeoutSeconds=1',
      1000,
    );
    expect(r.ended).toBe(true);
    expect(r.lines[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'wp' } } });
    const bookmarks = r.lines.filter((l) => l.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThanOrEqual(3);
    expect(bookmarks[0]?.object).toMatchObject({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.any(String) },
    });
  });

  it('marks the end of initial events with an annotated bookmark when sendInitialEvents=true', async () => {
    const r = await watchLines(
      '/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1',
      1000,
    );
    const firstBookmark = r.lines.findIndex((l) => l.type === 'BOOKMARK');
    expect(firstBookmark).toBeGreaterThan(0);
    expect(r.lines.slice(0, firstBookmark).every((l) => l.type === 'ADDED')).toBe(true);
    expect(r.lines[firstBookmark]?.object).toMatchObject({
      metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } },
    });
  });
});
