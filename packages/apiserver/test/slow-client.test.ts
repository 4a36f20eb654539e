/**
 * Slow clients: a request whose body stalls is answered 408 and its connection closed, so stalled
 * connections cannot pile up; a watch (a long response, not a long request) is not cut.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0, requestTimeoutMs: 500 });
});
afterAll(async () => {
  await server.close();
});

describe('request timeout', () => {
  it('a stalled body gets 408 and the connection is closed', async () => {
    const socket = connect(server.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => {
      received += d.toString();
    });
    socket.write(
      'POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"metad',
    );
    await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  }, 10_000);

  it('a watch keeps streaming past the request timeout', async () => {
    const ac = new AbortController();
    const r = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?watch=true`, {
      signal: ac.signal,
    });
    const reader = r.body?.getReader();
    await new Promise((res) => setTimeout(res, 1500));
    await fetch(`${server.url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late' } }),
    });
    const chunk = await reader?.read();
    expect(new TextDecoder().decode(chunk?.value)).toContain('"late"');
    ac.abort();
  }, 10_000);
});
