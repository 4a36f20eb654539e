// Benchmark of the datapath binder on the real kernel, inside network namespaces (needs root).
// Run: npm run bench -w @egressgateway/datapath   (builds dist first, then runs this file)
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const dist = new URL('../dist/index.js', import.meta.url).href;
const EIP_BASE = '198.18.1.';

function sh(cmd, args, input) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: input ?? '' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const f = (x) => x.toFixed(1);

function scaleState(eipOffset) {
  const gateways = Array.from({ length: 10 }, (_, i) => ({
    nodeName: `gw${i}`,
    underlay: `198.18.0.${101 + i}`,
    ipv4: `198.19.255.${101 + i}`,
    mac: `02:00:00:ff:01:${(0x10 + i).toString(16)}`,
  }));
  const eips = Array.from({ length: 100 }, (_, i) => `${EIP_BASE}${i + 1 + (i === 0 ? eipOffset : 0)}`);
  return {
    egressInterface: 'eth0',
    tunnel: {
      name: 'egress.vxlan',
      vni: 100,
      port: 7789,
      localUnderlay: '198.18.0.11',
      ipv4: '198.19.255.11/24',
      mac: '02:00:00:ff:00:11',
      peers: gateways,
    },
    markRoutes: gateways.map((g, i) => ({ nodeName: g.nodeName, mark: 0x26000100 + i, table: 1100 + i })),
    eips,
    steering: Array.from({ length: 1000 }, (_, i) => ({
      id: `policy-${i}`,
      sources: [`198.20.${Math.floor(i / 250)}.${i % 250}/32`],
      destinations: [`203.0.113.0/24`, `198.51.100.${i % 250}/32`],
      mark: 0x26000100 + (i % 10),
    })),
    snat: eips.map((eip, i) => ({
      id: `policy-${i}`,
      sources: [`198.20.${Math.floor(i / 250)}.${i % 250}/32`],
      destinations: 'all',
      eip,
    })),
    bypassDestinations: ['10.96.0.0/12', '10.244.0.0/16'],
  };
}

async function inner() {
  const { DatapathBinder } = await import(dist);
  const out = {};
  // 1. Bind one EIP and announce it, 30 times.
  {
    const binder = await DatapathBinder.open({
      announce: { count: 1, repeatAfterMs: 0 },
      probeAfterBind: false,
    });
    // A gateway prepared in advance (as on failover): SNAT rules for the EIPs already exist, so
    // binding is one address plus its announcement.
    const snat = Array.from({ length: 30 }, (_, i) => ({
      id: `p${i}`,
      sources: ['198.20.0.0/16'],
      destinations: [`203.0.113.${i}/32`],
      eip: `198.18.2.${i + 1}`,
    }));
    const base = { egressInterface: 'eth0', markRoutes: [], steering: [], snat };
    await binder.apply({ ...base, eips: [] });
    const bind = [];
    const starts = [];
    for (let i = 0; i < 30; i++) {
      const eip = `198.18.2.${i + 1}`;
      starts.push({ eip, t: Date.now() / 1000 });
      const r = await binder.apply({ ...base, eips: [eip] });
      if (!r.ok) throw new Error(JSON.stringify(r.failed));
      if (i === 0) out.bindOps = r.applied.map((a) => a.text);
      bind.push(r.totalMs);
      await binder.apply({ ...base, eips: [] });
      await new Promise((res) => setTimeout(res, 30));
    }
    await binder.withdrawAll();
    binder.close();
    out.bind = bind;
    out.bindStarts = starts;
  }
  // 2. Full apply at scale, then incremental applies of one changed EIP.
  {
    const binder = await DatapathBinder.open({ announce: false, probeAfterBind: false });
    const full = [];
    const fullBreak = [];
    for (let i = 0; i < 3; i++) {
      const r = await binder.apply(scaleState(0));
      if (!r.ok) throw new Error(JSON.stringify(r.failed));
      full.push(r.totalMs);
      fullBreak.push(r);
      if (i < 2) await binder.withdrawAll();
    }
    const inc = [];
    const incBreak = [];
    for (let i = 0; i < 20; i++) {
      const r = await binder.apply(scaleState(i % 2 === 0 ? 200 : 0));
      if (!r.ok) throw new Error(JSON.stringify(r.failed));
      inc.push(r.totalMs);
      incBreak.push(r);
    }
    const noop = [];
    for (let i = 0; i < 5; i++) noop.push((await binder.apply(scaleState(0))).totalMs);
    await binder.withdrawAll();
    binder.close();
    const avg = (rs, k) => rs.reduce((s, r) => s + r[k], 0) / rs.length;
    out.full = full;
    out.fullOps = fullBreak[0].applied.length;
    out.fullParts = ['observeMs', 'planMs', 'executeMs'].map((k) => avg(fullBreak, k));
    out.inc = inc;
    out.incOps = incBreak[0].applied.map((a) => a.text);
    out.incParts = ['observeMs', 'planMs', 'executeMs'].map((k) => avg(incBreak, k));
    out.noop = noop;
  }
  process.stdout.write(JSON.stringify(out));
}

async function outer() {
  if (process.getuid?.() !== 0) {
    console.log('bench needs root (network namespaces); skipped');
    return;
  }
  const prefix = `egwdp-bench-${process.pid}`;
  const gw = `${prefix}-gw`;
  const peer = `${prefix}-peer`;
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
    sh('ip', ['-n', peer, 'addr', 'add', '198.18.0.100/24', 'dev', 'eth0']);
    const tcpdump = spawn('ip', ['netns', 'exec', peer, 'tcpdump', '-tt', '-n', '-l', '-i', 'eth0', 'arp'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let cap = '';
    tcpdump.stdout.on('data', (b) => {
      cap += b.toString();
    });
    await new Promise((r) => setTimeout(r, 500));
    const child = spawn('ip', ['netns', 'exec', gw, process.execPath, self, '--inner'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let json = '';
    child.stdout.on('data', (b) => {
      json += b.toString();
    });
    await new Promise((r) => child.on('exit', r));
    await new Promise((r) => setTimeout(r, 1500));
    tcpdump.kill();
    const res = JSON.parse(json);
    // Wire latency: first gratuitous ARP seen by the peer minus the start of the apply.
    const wire = [];
    for (const s of res.bindStarts) {
      const ip = s.eip.replace(/\./g, '\\.');
      const m = new RegExp(
        `^(\\d+\\.\\d+) ARP, Request who-has ${ip} (\\(ff:ff:ff:ff:ff:ff\\) )?tell ${ip},`,
        'm',
      ).exec(cap);
      if (m) wire.push((Number(m[1]) - s.t) * 1000);
    }
    const rows = [
      ['bind 1 EIP + announce (apply returns)', res.bind, 20],
      ['bind 1 EIP -> GARP seen by peer', wire, 20],
      [`full apply: 1000 steering, 100 EIPs, 100 SNAT (${res.fullOps} ops)`, res.full, undefined],
      ['incremental: 1 EIP changed at that size', res.inc, 50],
      ['no-op apply at that size', res.noop, undefined],
    ];
    console.log('| measurement | runs | median ms | p95 ms | target ms | median/target |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, xs, target] of rows) {
      if (xs.length === 0) {
        console.log(`| ${name} | 0 | n/a | n/a | ${target ?? '-'} | - |`);
        continue;
      }
      const med = pct(xs, 50);
      console.log(
        `| ${name} | ${xs.length} | ${f(med)} | ${f(pct(xs, 95))} | ${target ?? '-'} | ${target ? `${(med / target).toFixed(2)}` : '-'} |`,
      );
    }
    console.log(
      `\nfull apply breakdown (avg ms): observe ${f(res.fullParts[0])}, plan ${f(res.fullParts[1])}, execute ${f(res.fullParts[2])}`,
    );
    console.log(
      `incremental breakdown (avg ms): observe ${f(res.incParts[0])}, plan ${f(res.incParts[1])}, execute ${f(res.incParts[2])}`,
    );
    console.log(`incremental operations: ${res.incOps.join('; ')}`);
    console.log(`bind operations: ${res.bindOps.join('; ')}`);
  } finally {
    cleanup();
  }
}

if (process.argv.includes('--inner')) await inner();
else await outer();
