import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/server.js';

/** Sends a request with the path exactly as given (fetch and URL would resolve dot segments first). */
function raw(
  server: ApiServer,
  method: string,
  path: string,
  body?: string,
  contentType?: string,
): Promise<{ status: number; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (contentType !== undefined) headers['content-type'] = contentType;
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('bad input refused as kube-apiserver does', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ port: 0 });
    await raw(server, 'POST', '/api/v1/namespaces', '{"metadata":{"name":"victim"}}', 'application/json');
    await raw(
      server,
      'POST',
      '/api/v1/namespaces/victim/configmaps',
      '{"metadata":{"name":"keep"}}',
      'application/json',
    );
  });
  afterAll(async () => server?.close());

  it.each([
    'text/plain',
    'application/xml',
    'text/xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
  ])('answers 415 UnsupportedMediaType to a %s body on create and update', async (type) => {
    const body = '{"metadata":{"name":"typed"}}';
    const created = await raw(server, 'POST', '/api/v1/namespaces/victim/configmaps', body, type);
    expect(created.status).toBe(415);
    expect(created.body).toMatchObject({
      kind: 'Status',
      reason: 'UnsupportedMediaType',
      code: 415,
      message:
        'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
    });
    const updated = await raw(
      server,
      'PUT',
      '/api/v1/namespaces/victim/configmaps/keep',
      '{"metadata":{"name":"keep"},"data":{"a":"1"}}',
      type,
    );
    expect(updated.status).toBe(415);
    expect((await raw(server, 'GET', '/api/v1/namespaces/victim/configmaps/typed')).status).toBe(404);
  });

  it('still reads JSON, YAML and a body without Content-Type', async () => {
    for (const [name, type, body] of [
      ['j', 'application/json', '{"metadata":{"name":"j"}}'],
      ['y', 'application/yaml', 'metadata:\n  name: y\n'],
      ['n', undefined, '{"metadata":{"name":"n"}}'],
    ] as const)
      expect(
        (await raw(server, 'POST', '/api/v1/namespaces/victim/configmaps', body, type)).status,
        name,
      ).toBe(201);
  });

  it.each([
    ['DELETE', '/api/v1/namespaces/victim/configmaps/%2e%2e'],
    ['DELETE', '/api/v1/namespaces/victim/configmaps/%2E%2E'],
    ['DELETE', '/api/v1/namespaces/victim/configmaps/..'],
    ['DELETE', '/api/v1/namespaces/victim/configmaps/%2e'],
    ['DELETE', '/api/v1/namespaces/victim/configmaps/.'],
    ['DELETE', '/api/v1/namespaces/%2e%2e/namespaces/victim'],
    ['DELETE', '/api/v1/namespaces/victim/configmaps/x/..\\..'],
    ['PUT', '/api/v1/namespaces/victim/configmaps/%2e%2e'],
    ['PATCH', '/api/v1/namespaces/victim/configmaps/%2e%2e'],
    ['GET', '/api/v1/namespaces/%2e/configmaps'],
  ])('refuses %s %s with 400 before routing, touching nothing', async (method, path) => {
    const body = method === 'GET' || method === 'DELETE' ? undefined : '{"metadata":{"name":"victim"}}';
    const type = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const r = await raw(server, method, path, body, type);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    expect(r.body.message).toMatch(/^invalid path segment "\.\.?": may not be '\.\.?'$/);
    expect((await raw(server, 'GET', '/api/v1/namespaces/victim')).status).toBe(200);
    expect((await raw(server, 'GET', '/api/v1/namespaces/victim/configmaps/keep')).status).toBe(200);
  });

  it('reads an encoded backslash as part of a name, never as a separator (404, nothing touched)', async () => {
    const r = await raw(
      server,
      'DELETE',
      '/api/v1/namespaces/victim/configmaps/..%5C..%5Cnamespaces%5Cvictim',
    );
    expect(r.status).toBe(404);
    expect((await raw(server, 'GET', '/api/v1/namespaces/victim')).status).toBe(200);
  });
});
