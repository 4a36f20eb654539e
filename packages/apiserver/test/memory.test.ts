import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MIB = 1024 * 1024;
const WINDOW = 4 * MIB;

let server: ApiServer;
beforeAll(async () => {
  server = await startApiServer({ port: 0, watchWindowBytes: WINDOW });
});
afterAll(async () => server?.close());

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('memory under repeated large writes', () => {
  it('keeps the heap within the watch window bytes, however much is written (bound: 2 x window + 16 MiB)', async () => {
    const cm = `${server.url}/api/v1/namespaces/default/configmaps`;
    const big = 'x'.repeat(MIB);
    const put = async (method: string, path: string, i: number) => {
      const r = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ metadata: { name: 'big' }, data: { v: `${i}${big}` } }),
      });
      await r.arrayBuffer();
      return r.status;
    };
    expect(await put('POST', cm, 0)).toBe(201);
    const before = heapAfterGc();
    // 100 MiB written; a window bounded by event count alone (10,000) would keep all of it.
    for (let i = 1; i <= 100; i++) expect(await put('PUT', `${cm}/big`, i)).toBe(200);
    const grew = (heapAfterGc() - before) / MIB;
    expect(grew).toBeLessThan((2 * WINDOW) / MIB + 16);
    // The window still serves the recent past: a watch from the current version opens.
    const rv = ((await (await fetch(`${cm}/big`)).json()) as { metadata: { resourceVersion: string } })
      .metadata.resourceVersion;
    const w = await fetch(`${cm}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`);
    expect(w.status).toBe(200);
    await w.arrayBuffer();
  });
});
