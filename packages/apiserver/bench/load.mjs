// Load benchmark of @egressgateway/apiserver (run from the built dist: `npm run bench`).
// Server in a child process; clients here over keep-alive HTTP on loopback.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const here = fileURLToPath(new URL('.', import.meta.url));
const TUNNELS = 1000;
const PATCHES = 5000;
const CLIENTS = 50;
const ROUNDS = 3;
const LIST_OBJECTS = 5000;
const WATCHERS = 100;
const WATCH_EVENTS = 1000;
const MEM_OBJECTS = 10_000;

const productCrd = join(here, '../../crds/manifests/egresstunnels.yaml');
const CRD = existsSync(productCrd)
  ? parse(readFileSync(productCrd, 'utf8'))
  : {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'egresstunnels.egressgateway.spidernet.io' },
      spec: {
        group: 'egressgateway.spidernet.io',
        scope: 'Cluster',
        names: {
          plural: 'egresstunnels',
          singular: 'egresstunnel',
          kind: 'EgressTunnel',
          shortNames: ['egt'],
        },
        versions: [
          {
            name: 'v1beta1',
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
const BASE = '/apis/egressgateway.spidernet.io/v1beta1/egresstunnels';

function startServer(dataDir) {
  const child = fork(join(here, 'server-child.mjs'), dataDir ? [dataDir] : [], { execArgv: ['--expose-gc'] });
  return new Promise((resolve) => {
    child.once('message', (m) => resolve({ child, url: m.url }));
  });
}
function ask(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
function call(url, method, path, body, type = 'application/json') {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${url}${path}`,
      { method, agent, headers: { 'Content-Type': type, Accept: 'application/json' } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode >= 400)
            reject(new Error(`${method} ${path}: ${res.statusCode} ${Buffer.concat(chunks)}`));
          else resolve(Buffer.concat(chunks));
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const tunnel = (i) => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressTunnel',
  metadata: { name: `node-${i}` },
  spec: {},
});
const status = (i, n) => ({
  status: {
    tunnel: {
      mac: '66:50:85:cb:b2:bf',
      ipv4: `198.18.${(i >> 8) & 255}.${i & 255}`,
      ipv6: `fd00::${i.toString(16)}`,
    },
    mark: `0x26d9${(i & 0xffff).toString(16).padStart(4, '0')}`,
    phase: 'Ready',
    lastHeartbeatTime: new Date(Date.UTC(2026, 10, 25, 0, 0, 0, n)).toISOString(),
  },
});

async function createTunnels(url, from, to) {
  let next = from;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < to) {
        const i = next++;
        await call(url, 'POST', BASE, tunnel(i));
      }
    }),
  );
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function statusRound(url, n) {
  const lat = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < PATCHES) {
        const k = next++;
        const i = k % TUNNELS;
        const s = performance.now();
        await call(
          url,
          'PATCH',
          `${BASE}/node-${i}/status`,
          status(i, n * PATCHES + k),
          'application/merge-patch+json',
        );
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { writesPerSec: PATCHES / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}

/** Open-loop round: PATCHES writes offered at `rate`/s spread over CLIENTS clients (latency at a given load). */
async function pacedRound(url, n, rate) {
  const lat = [];
  const t0 = performance.now() + 50;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let k = c; k < PATCHES; k += CLIENTS) {
        const due = t0 + (k * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const i = k % TUNNELS;
        const s = performance.now();
        await call(
          url,
          'PATCH',
          `${BASE}/node-${i}/status`,
          status(i, n * PATCHES + k),
          'application/merge-patch+json',
        );
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { writesPerSec: PATCHES / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}

function watchStream(url, rv, expect) {
  return new Promise((resolve, reject) => {
    let count = 0;
    let buf = '';
    const req = request(`${url}${BASE}?watch=true&resourceVersion=${rv}`, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          count++;
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
        if (count >= expect) {
          resolve(performance.now());
          req.destroy();
        }
      });
    });
    req.on('error', (e) => (count >= expect ? undefined : reject(e)));
    req.end();
  });
}

const fmt = (x, d = 1) => x.toFixed(d);
const rows = [];

async function statusBench(label, dataDir) {
  const { child, url } = await startServer(dataDir);
  await call(url, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', CRD);
  await createTunnels(url, 0, TUNNELS);
  await statusRound(url, 99); // warm-up
  const results = [];
  for (let r = 0; r < ROUNDS; r++) results.push(await statusRound(url, r));
  for (const [r, x] of results.entries()) {
    rows.push([
      `${label} status patches, saturated, round ${r + 1}`,
      `${fmt(x.writesPerSec, 0)} writes/s`,
      `p50 ${fmt(x.p50, 2)} ms`,
      `p99 ${fmt(x.p99, 2)} ms`,
    ]);
  }
  for (let r = 0; r < 2; r++) {
    const x = await pacedRound(url, 10 + r, 2000);
    rows.push([
      `${label} status patches, paced at 2000/s, round ${r + 1}`,
      `${fmt(x.writesPerSec, 0)} writes/s`,
      `p50 ${fmt(x.p50, 2)} ms`,
      `p99 ${fmt(x.p99, 2)} ms`,
    ]);
  }
  return { child, url };
}

const { child, url } = await statusBench('in-memory', undefined);

// List of 5,000 objects (plain JSON and Table).
await createTunnels(url, TUNNELS, LIST_OBJECTS);
for (const [name, accept] of [
  ['list 5,000 (JSON)', 'application/json'],
  ['list 5,000 (Table)', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json'],
]) {
  const times = [];
  for (let i = 0; i < 10; i++) {
    const s = performance.now();
    const body = await new Promise((resolve, reject) => {
      const req = request(`${url}${BASE}`, { agent, headers: { Accept: accept } }, (res) => {
        const c = [];
        res.on('data', (d) => c.push(d));
        res.on('end', () => resolve(Buffer.concat(c)));
      });
      req.on('error', reject);
      req.end();
    });
    times.push(performance.now() - s);
    if (
      i === 0 &&
      JSON.parse(body).items?.length !== undefined &&
      JSON.parse(body).items.length !== LIST_OBJECTS
    )
      throw new Error('short list');
  }
  times.sort((a, b) => a - b);
  rows.push([name, `median ${fmt(pct(times, 50), 1)} ms`, `max ${fmt(times[times.length - 1], 1)} ms`, '']);
}

// Watch fan-out: 1,000 events to 100 watchers.
const listRv = JSON.parse(await call(url, 'GET', `${BASE}?limit=1`)).metadata.resourceVersion;
const done = Array.from({ length: WATCHERS }, () => watchStream(url, listRv, WATCH_EVENTS));
await new Promise((r) => setTimeout(r, 300));
const w0 = performance.now();
{
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < WATCH_EVENTS) {
        const k = next++;
        await call(
          url,
          'PATCH',
          `${BASE}/node-${k}/status`,
          status(k, 1e9 + k),
          'application/merge-patch+json',
        );
      }
    }),
  );
}
const ends = await Promise.all(done);
const fan = (Math.max(...ends) - w0) / 1000;
rows.push([
  `watch fan-out ${WATCH_EVENTS} events x ${WATCHERS} watchers`,
  `${fmt(fan * 1000, 0)} ms until all delivered`,
  `${fmt((WATCH_EVENTS * WATCHERS) / fan, 0)} events/s delivered`,
  '',
]);

// Memory at 10,000 objects (each with a full status).
await createTunnels(url, LIST_OBJECTS, MEM_OBJECTS);
{
  let next = LIST_OBJECTS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < MEM_OBJECTS) {
        const i = next++;
        await call(url, 'PATCH', `${BASE}/node-${i}/status`, status(i, i), 'application/merge-patch+json');
      }
    }),
  );
}
const { mem } = await ask(child, 'mem');
rows.push([
  `server memory at ${MEM_OBJECTS} objects (after GC)`,
  `rss ${fmt(mem.rss / 2 ** 20)} MB`,
  `heap ${fmt(mem.heapUsed / 2 ** 20)} MB`,
  '',
]);
child.send('stop');

// Durable: the same status round with --data-dir (one fdatasync per write).
const dir = mkdtempSync(join(tmpdir(), 'egw-bench-'));
try {
  const durable = await statusBench(`durable (--data-dir)`, dir);
  durable.child.send('stop');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
agent.destroy();

const inMem = rows.filter((r) => r[0].startsWith('in-memory') && r[0].includes('saturated'));
const durableRows = rows.filter((r) => r[0].startsWith('durable') && r[0].includes('saturated'));
console.log(
  `\n@egressgateway/apiserver load benchmark (Node ${process.version}, ${CLIENTS} concurrent clients, loopback)\n`,
);
const w = [62, 28, 26, 16];
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(w[i])).join(' '));
const best = (rs) => Math.max(...rs.map((r) => Number.parseFloat(r[1])));
console.log(
  `\ntarget: >= 2000 status writes/s with p99 < 20 ms; in-memory best ${fmt(best(inMem), 0)} writes/s (ratio to target ${fmt(best(inMem) / 2000, 2)}x)`,
);
console.log(
  'saturated rounds keep 50 requests in flight, so their latency is 50 / throughput (queueing); paced rounds offer 2000/s',
);
console.log(`durable/in-memory throughput ratio: ${fmt(best(durableRows) / best(inMem), 2)}x`);
