// Memory benchmark of @egressgateway/apiserver (run from the built dist: `npm run bench`).
// The server runs alone in a child process with its default limits; this process writes large
// objects in a loop and opens and drops many watches, and reads the child's memory after a full GC.
// Exits 1 when the stated bound is broken, so the benchmark doubles as the memory check.
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const MIB = 1024 * 1024;
const OBJECT_MIB = 2;
const WRITES = 200;
const WATCHERS = 200;
const PATCHES = 20;
/** Watch window (64 MiB per resource) twice over for V8's object overhead, plus 64 MiB of slack. */
const BOUND_MIB = 2 * 64 + 64;

const child = fork(join(here, 'server-child.mjs'), [], { execArgv: ['--expose-gc'] });
process.on('exit', () => child.kill());
const url = await new Promise((resolve) => child.once('message', (m) => resolve(m.url)));
const mem = () =>
  new Promise((resolve) => {
    child.once('message', (m) => resolve(m.mem));
    child.send('mem');
  });
const CM = `${url}/api/v1/namespaces/default/configmaps`;
async function send(method, path, body, type = 'application/json') {
  const r = await fetch(path, { method, headers: { 'Content-Type': type }, body: JSON.stringify(body) });
  await r.arrayBuffer();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status}`);
}
const mib = (n) => (n / MIB).toFixed(0);

const base = await mem();
const big = 'x'.repeat(OBJECT_MIB * MIB);
await send('POST', CM, { metadata: { name: 'big' }, data: { v: big } });
for (let i = 0; i < WRITES; i++)
  await send('PUT', `${CM}/big`, {
    metadata: { name: 'big' },
    data: { v: `${i}${big.slice(String(i).length)}` },
  });
const afterWrites = await mem();

// Watchers that never read, while large patches land; then they all go.
const watches = [];
for (let i = 0; i < WATCHERS; i++) {
  watches.push(
    await new Promise((resolve) => {
      const req = request(`${CM}?watch=true`, (res) => {
        res.pause();
        resolve(req);
      });
      req.on('error', () => {});
      req.end();
    }),
  );
}
for (let i = 0; i < PATCHES; i++)
  await send(
    'PATCH',
    `${CM}/big`,
    { data: { v: `p${i}${big.slice(String(i).length + 1)}` } },
    'application/merge-patch+json',
  );
const withWatchers = await mem();
for (const w of watches) w.destroy();
await new Promise((r) => setTimeout(r, 500));
const afterWatchers = await mem();
child.send('stop');

const rows = [
  ['start', base],
  [`after ${WRITES} PUTs of ${OBJECT_MIB} MiB`, afterWrites],
  [`${WATCHERS} stalled watches + ${PATCHES} patches`, withWatchers],
  ['watches closed', afterWatchers],
];
console.log('\napiserver memory (child process, after a full GC)');
console.log('| phase | RSS MiB | heap used MiB | external MiB |');
console.log('|---|---:|---:|---:|');
for (const [name, m] of rows)
  console.log(`| ${name} | ${mib(m.rss)} | ${mib(m.heapUsed)} | ${mib(m.external)} |`);
const written = (WRITES + PATCHES) * OBJECT_MIB;
const growth = (m) => (m.rss - base.rss) / MIB;
const steady = Math.max(growth(afterWrites), growth(afterWatchers));
console.log(
  `\nwritten ${written} MiB; RSS growth after the writes ${growth(afterWrites).toFixed(0)} MiB, with stalled watchers ${growth(withWatchers).toFixed(0)} MiB (each may hold up to the 64 MiB backlog limit), after they left ${growth(afterWatchers).toFixed(0)} MiB; bound without watchers ${BOUND_MIB} MiB (${(steady / BOUND_MIB).toFixed(2)} of it)`,
);
if (steady > BOUND_MIB) {
  console.error(`apiserver memory bound broken: RSS grew ${steady.toFixed(0)} MiB > ${BOUND_MIB} MiB`);
  process.exit(1);
}
