import { request } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0, maxBodyBytes: 64 * 1024 });
});
afterAll(async () => {
  await server.close();
});

function send(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ code: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    // Always framed with Content-Length: Node sends GET/DELETE bodies unframed otherwise, which is
    // malformed HTTP (covered by its own test below).
    const length = body === undefined ? 0 : Buffer.byteLength(body);
    const req = request(
      `${server.url}${path}`,
      {
        method,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(length), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () =>
          resolve({ code: res.statusCode ?? 0, body: text, type: String(res.headers['content-type']) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function expectStatus(r: { code: number; body: string }, code?: number): void {
  const st = JSON.parse(r.body) as { kind: string; status: string; code: number; reason: string };
  expect(st).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure' });
  expect(st.code).toBe(r.code);
  if (code !== undefined) expect(r.code).toBe(code);
}

describe('HTTP surface under bad input', () => {
  it('answers malformed JSON bodies with a 400 Status', async () => {
    expectStatus(await send('POST', '/api/v1/namespaces/default/configmaps', '{"metadata":'), 400);
    expectStatus(await send('POST', '/api/v1/namespaces/default/configmaps', '[1,2]'), 400);
    expectStatus(await send('POST', '/api/v1/namespaces/default/configmaps', '"str"'), 400);
    expectStatus(
      await send('PATCH', '/api/v1/namespaces/default/configmaps/x', 'nope', {
        'Content-Type': 'application/merge-patch+json',
      }),
      400,
    );
  });

  it('answers a body over the limit with 413 and keeps serving', async () => {
    const big = JSON.stringify({ metadata: { name: 'big' }, data: { x: 'a'.repeat(100 * 1024) } });
    expectStatus(await send('POST', '/api/v1/namespaces/default/configmaps', big), 413);
    expect((await send('GET', '/healthz')).code).toBe(200);
  });

  it('answers bad selectors, limits, continue tokens and resourceVersions with 400', async () => {
    expectStatus(await send('GET', '/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(b'), 400);
    expectStatus(await send('GET', '/api/v1/namespaces/default/configmaps?fieldSelector=nope'), 400);
    expectStatus(await send('GET', '/api/v1/namespaces/default/configmaps?limit=-3'), 400);
    expectStatus(await send('GET', '/api/v1/namespaces/default/configmaps?limit=1&continue=%%%'), 400);
    expectStatus(await send('GET', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=abc'), 400);
    expectStatus(await send('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Loud', '{}'), 400);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expectStatus(await send('GET', '/apis/nope.io/v1/things'), 404);
    expectStatus(await send('GET', '/api/v1/namespaces/default/configmaps/a/b/c/d'), 404);
    expectStatus(await send('GET', '/api/v1/namespaces/default/configmaps/x/status'), 404);
    expectStatus(await send('GET', '/%E0%A4%A'), 404);
    expectStatus(await send('PATCH', '/api/v1/namespaces/default/configmaps', '{}'), 405);
    expectStatus(await send('POST', '/api', '{}'), 405);
  });

  it('never crashes and always answers a Status for random paths, methods and bodies', async () => {
    const segment = fc.oneof(
      fc.constantFrom(
        'api',
        'apis',
        'v1',
        'namespaces',
        'default',
        'configmaps',
        'nodes',
        'status',
        'watch',
        'example.com',
        '..',
        '%2F',
        '',
      ),
      fc.string({ maxLength: 8 }).map((s) => encodeURIComponent(s)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        fc.array(segment, { maxLength: 7 }),
        fc.oneof(fc.string({ maxLength: 50 }), fc.json({ maxDepth: 3 })),
        fc.constantFrom(
          'application/json',
          'application/merge-patch+json',
          'application/json-patch+json',
          'application/strategic-merge-patch+json',
          'text/plain',
        ),
        async (method, segs, body, type) => {
          const path = `/${segs.join('/')}?timeoutSeconds=1`;
          const r = await send(method, path, body, { 'Content-Type': type });
          expect(r.code).toBeGreaterThanOrEqual(200);
          expect(r.code).toBeLessThan(500);
          if (r.code >= 400) expectStatus(r);
        },
      ),
      { numRuns: 150 },
    );
    expect((await send('GET', '/readyz')).code).toBe(200);
  });

  it('answers unparsable HTTP with a 400 Status and closes the connection', async () => {
    const sock = connect(server.port, '127.0.0.1');
    let text = '';
    sock.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    sock.write('NOT HTTP AT ALL\r\n\r\n');
    await closed;
    expect(text.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body)).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    expect((await send('GET', '/healthz')).code).toBe(200);
  });
});
