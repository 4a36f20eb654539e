// Benchmark of EIP lease renewals on the real kernel, inside network namespaces (needs root):
// how long a renewal takes from the call to its return, alone and while applies keep the binder
// busy (as on a gateway whose peers renew every P ms while the datapath follows the cluster).
// Run: npm run bench:lease -w @egressgateway/datapath   (builds dist first, then runs this file)
// Another build of the package (e.g. a bundle of an older commit) can be measured by passing the
// path of its entry module: node bench/lease.mjs /path/to/index.js
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const RUNS = 200;

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (x) => x.toFixed(1);

/** A gateway as the peers lab runs it: 3 EIPs held, SNAT for them, 300 steering rules; `extra` toggles a 4th EIP. */
function state(extra) {
  const eips = ['198.18.3.1', '198.18.3.2', '198.18.3.3', ...(extra ? ['198.18.3.4'] : [])];
  return {
    egressInterface: 'eth0',
    markRoutes: [],
    eips,
    steering: Array.from({ length: 300 }, (_, i) => ({
      id: `p${i}`,
      sources: [`198.19.${Math.floor(i / 250)}.${i % 250}/32`],
      destinations: [`203.0.113.${i % 250}/32`],
      mark: 0x26000100 + (i % 10) + (extra && i === 0 ? 16 : 0),
    })),
    snat: ['198.18.3.1', '198.18.3.2', '198.18.3.3', '198.18.3.4'].map((eip, i) => ({
      id: `s${i}`,
      sources: ['198.19.0.0/16'],
      destinations: 'all',
      eip,
    })),
  };
}

async function inner(modulePath) {
  const { DatapathBinder } = await import(modulePath);
  const binder = await DatapathBinder.open({
    announce: false,
    probeAfterBind: false,
    eipLifetimeSeconds: 30,
  });
  const renew = () => binder.renewEips(1, 150);
  const first = await binder.apply(state(false), { leaseMs: 10_000 });
  if (!first.ok) throw new Error(JSON.stringify(first.failed));
  const out = { idle: [], busy: [], applies: [] };
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = await renew();
    if (r.failed.length > 0) throw new Error(JSON.stringify(r.failed));
    out.idle.push(performance.now() - t);
  }
  // Busy: an apply (bind or unbind one EIP, one steering change) is started, and a renewal is made
  // 0-4 ms later, while that apply (and the next one, queued at once) are in flight.
  for (let i = 0; i < RUNS; i++) {
    const a1 = binder.apply(state(i % 2 === 0), { leaseMs: 10_000 });
    const a2 = binder.apply(state(i % 2 !== 0), { leaseMs: 10_000 });
    await new Promise((r) => setTimeout(r, i % 5));
    const t = performance.now();
    const r = await renew();
    out.busy.push(performance.now() - t);
    if (r.failed.length > 0) throw new Error(JSON.stringify(r.failed));
    const [r1] = await Promise.all([a1, a2]);
    out.applies.push(r1.totalMs);
  }
  await binder.withdrawAll();
  binder.close();
  process.stdout.write(JSON.stringify(out));
}

async function outer(modulePath) {
  if (process.getuid?.() !== 0) {
    console.log('bench needs root (network namespaces); skipped');
    return;
  }
  const gw = `egwdp-lease-bench-${process.pid}`;
  const peer = `${gw}-peer`;
  const cleanup = () => {
    for (const ns of [gw, peer]) spawnSync('ip', ['netns', 'del', ns]);
  };
  process.on('exit', cleanup);
  try {
    sh('ip', ['netns', 'add', gw]);
    sh('ip', ['netns', 'add', peer]);
    sh('ip', ['-n', gw, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer]);
    for (const ns of [gw, peer]) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
    sh('ip', ['-n', gw, 'addr', 'add', '198.18.0.11/24', 'dev', 'eth0']);
    const child = spawn('ip', ['netns', 'exec', gw, process.execPath, self, '--inner', modulePath], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let json = '';
    child.stdout.on('data', (b) => {
      json += b.toString();
    });
    const code = await new Promise((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`inner run failed (${code})`);
    const res = JSON.parse(json);
    console.log(`module: ${modulePath}`);
    console.log('| renewal (renewEips(1, 150)) | runs | p50 ms | p99 ms | max ms |');
    console.log('|---|---|---|---|---|');
    for (const [name, xs] of [
      ['no apply in flight', res.idle],
      ['applies in flight (2 queued)', res.busy],
    ]) {
      console.log(
        `| ${name} | ${xs.length} | ${f(pct(xs, 50))} | ${f(pct(xs, 99))} | ${f(Math.max(...xs))} |`,
      );
    }
    console.log(`apply (one EIP and one steering rule changed): p50 ${f(pct(res.applies, 50))} ms`);
  } finally {
    cleanup();
  }
}

const arg = process.argv.slice(2).find((a) => a !== '--inner');
const modulePath = arg
  ? arg.startsWith('file:')
    ? arg
    : pathToFileURL(resolve(arg)).href
  : new URL('../dist/index.js', import.meta.url).href;
if (process.argv.includes('--inner')) await inner(modulePath);
else await outer(modulePath);
