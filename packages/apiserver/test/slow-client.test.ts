import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0, headersTimeoutMs: 150, requestTimeoutMs: 300, maxConnections: 4 });
});
afterAll(async () => server?.close());

/** Opens a raw connection, writes `first`, and resolves with everything received until the server closes it. */
function untilClosed(first: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, '127.0.0.1', () => s.write(first));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('utf8');
    });
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(got) : reject(e)));
    s.on('close', () => resolve(got));
  });
}

describe('slow and greedy clients', () => {
  it('closes a connection whose body stalls, with a 408 Status', async () => {
    const got = await untilClosed(
      'POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"metadata":',
    );
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4))).toMatchObject({ kind: 'Status', code: 408 });
    // Nothing half-sent was stored.
    const list = await fetch(`${server.url}/api/v1/namespaces/default/configmaps`).then(
      (r) => r.json() as Promise<any>,
    );
    expect(list.items).toEqual([]);
  });

  it('closes a connection whose headers stall', async () => {
    const got = await untilClosed('GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers an oversized header with 431', async () => {
    const got = await untilClosed(
      `GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(got).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('a watch is not cut by the request timeout: it still gets events after it', async () => {
    const path = '/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=5';
    const ctl = new AbortController();
    const res = await fetch(`${server.url}${path}`, { signal: ctl.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    // Wait past the request timeout (several check intervals), then write.
    await new Promise((r) => setTimeout(r, 900));
    const created = await fetch(`${server.url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"metadata":{"name":"late"}}',
    });
    expect(created.status).toBe(201);
    const { value } = await reader.read();
    expect(JSON.parse(new TextDecoder().decode(value).split('\n')[0] as string)).toMatchObject({
      type: 'ADDED',
      object: { metadata: { name: 'late' } },
    });
    ctl.abort();
  });

  it('closes connections beyond maxConnections at once and serves again when they go', async () => {
    const held: Socket[] = [];
    const open = () =>
      new Promise<Socket>((resolve) => {
        const s = connect(server.port, '127.0.0.1', () => resolve(s));
        s.on('error', () => {});
      });
    // Keep four connections busy with slow (but not yet timed-out) requests.
    for (let i = 0; i < 4; i++) {
      const s = await open();
      s.write('GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n');
      held.push(s);
    }
    const extra = await untilClosed('GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(extra).toBe('');
    for (const s of held) s.destroy();
    await vi.waitFor(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200));
  });

  it('refuses requestTimeoutMs below headersTimeoutMs with a message naming both', async () => {
    await expect(startApiServer({ port: 0, headersTimeoutMs: 1000, requestTimeoutMs: 500 })).rejects.toThrow(
      /requestTimeoutMs \(500\) must be at least headersTimeoutMs \(1000\)/,
    );
  });
});
