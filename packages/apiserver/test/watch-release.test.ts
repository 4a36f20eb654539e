import { type ClientRequest, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ApiServer, MemoryStorage, startApiServer } from '../src/index.js';

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0, watchWindowBytes: 512 * 1024 });
});
afterAll(async () => server?.close());

const CM = '/api/v1/namespaces/default/configmaps';
const storage = () => server.core.storage as MemoryStorage;

async function post(path: string, body: unknown): Promise<number> {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  await r.arrayBuffer();
  return r.status;
}

/** Opens a watch and resolves once its headers arrived; the response is left unread (a stalled client). */
function openWatch(path: string): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, (res) => {
      res.pause();
      resolve(req);
    });
    req.on('error', () => {});
    req.on('error', reject);
    req.end();
  });
}

describe('watch buffers and the byte-bounded window over HTTP', () => {
  it('drops a closed watch: its subscription and its unsent queue go with it', async () => {
    expect(storage()).toBeInstanceOf(MemoryStorage);
    const watches = await Promise.all([0, 1, 2].map(() => openWatch(`${CM}?watch=true`)));
    expect(storage().subscriberCount('/configmaps')).toBe(3);
    // Large events queue up behind the stalled clients.
    for (let i = 0; i < 8; i++)
      expect(await post(CM, { metadata: { name: `big-${i}` }, data: { x: 'y'.repeat(200_000) } })).toBe(201);
    for (const w of watches) w.destroy();
    await vi.waitFor(() => expect(storage().subscriberCount('/configmaps')).toBe(0));
  });

  it('keeps the window under watchWindowBytes and answers an evicted resume with 410 Expired', async () => {
    const first = await fetch(`${server.url}${CM}`).then((r) => r.json() as Promise<any>);
    const from = first.metadata.resourceVersion as string;
    for (let i = 0; i < 10; i++)
      expect(await post(CM, { metadata: { name: `more-${i}` }, data: { x: 'z'.repeat(100_000) } })).toBe(201);
    expect(storage().windowUsage('/configmaps').bytes).toBeLessThanOrEqual(512 * 1024);
    const r = await fetch(`${server.url}${CM}?watch=true&resourceVersion=${from}`);
    const text = await r.text();
    const ev = JSON.parse(text.trim().split('\n')[0] as string);
    expect(ev).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(ev.object.message).toMatch(/^too old resource version: /);
  });
});
