import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';
import { eventually } from './cluster.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0, watchMaxBacklogBytes: 64 * 1024 });
});
afterAll(async () => {
  await server.close();
});

describe('slow watchers', () => {
  it('disconnects a watcher that stops reading instead of buffering without bound', async () => {
    const sock = connect(server.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('GET /api/v1/namespaces/default/configmaps?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    let closed = false;
    sock.on('close', () => {
      closed = true;
    });
    // Read the response head, then stop reading: the kernel buffers fill, then the server's backlog.
    await new Promise<void>((r) => sock.once('data', () => r()));
    sock.pause();
    const big = 'x'.repeat(200 * 1024);
    const create = (name: string) =>
      fetch(`${server.url}/api/v1/namespaces/default/configmaps`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ metadata: { name }, data: { big } }),
      });
    let i = 0;
    while (!closed && i < 200) {
      expect((await create(`c${i++}`)).status).toBe(201);
      sock.resume();
      sock.pause();
    }
    sock.resume();
    await eventually(() => closed, 5000);
    expect(closed).toBe(true);
    // The server itself is fine and keeps serving.
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});
