import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) console.warn('netns tests need root (CAP_NET_ADMIN) to create network namespaces; skipped');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} -> ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** JSON-lines client of test/peer-node.mjs. */
class PeerNode {
  readonly ready: Promise<void>;
  stderr = '';
  private nextId = 1;
  private readonly pending = new Map<number, (v: unknown) => void>();
  constructor(readonly child: ChildProcess) {
    let buf = '';
    let onReady: () => void = () => {};
    let onFail: (e: Error) => void = () => {};
    this.ready = new Promise((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    child.on('exit', (code) => {
      onFail(new Error(`peer node exited ${code}: ${this.stderr}`));
      for (const resolve of this.pending.values()) resolve(undefined);
      this.pending.clear();
    });
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, i)) as { ready?: boolean; id?: number; result?: unknown };
        buf = buf.slice(i + 1);
        if (msg.ready) onReady();
        else if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.result);
      }
    });
  }
  call<T>(method: string): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      this.pending.set(id, resolve as (v: unknown) => void);
      this.child.stdin?.write(`${JSON.stringify({ id, method })}\n`);
    });
  }
}

const EIP = '198.51.100.7';
const members = [1, 2, 3].map((i) => ({ name: `node${i}`, ipv4: `198.18.22.${i}` }));
const key = (fill: number) => ({ id: 'k1', secret: Buffer.alloc(32, fill).toString('hex') });

/** Polls `probe` every 50 ms until it returns a value (at most 10 s). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// The agent's peer stack (driver, UDP transport, keys, fallback) of three gateway nodes, each in a
// network namespace of its own on one bridge, over real UDP; the API server is simulated in each.
describe.skipIf(!isRoot)('gateway peers over UDP between network namespaces', () => {
  const prefix = `egwpa-${process.pid}`;
  const namespaces: string[] = [];
  const nodes = new Map<string, PeerNode>();
  let bundlePath = '';

  const ns = (name: string) => {
    const n = `${prefix}-${name}`;
    run('ip', ['netns', 'add', n]);
    namespaces.push(n);
    run('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    return n;
  };
  const start = async (node: string, ipv4: string, options: object) => {
    const n = ns(node);
    run('ip', [
      '-n',
      `${prefix}-sw`,
      'link',
      'add',
      `p-${node}`,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      n,
    ]);
    run('ip', ['-n', `${prefix}-sw`, 'link', 'set', `p-${node}`, 'master', 'br0', 'up']);
    run('ip', ['-n', n, 'addr', 'add', `${ipv4}/24`, 'dev', 'eth0']);
    run('ip', ['-n', n, 'link', 'set', 'eth0', 'up']);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        n,
        process.execPath,
        join(here, 'peer-node.mjs'),
        bundlePath,
        JSON.stringify({
          node,
          ipv4,
          members,
          holder: 'node1',
          eip: EIP,
          fallbackAfterMs: 1_000,
          ...options,
        }),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const p = new PeerNode(child);
    nodes.set(node, p);
    await p.ready;
    return p;
  };
  const holders = async () => {
    const out: string[] = [];
    for (const [name, p] of nodes) {
      if (p.child.killed || p.child.exitCode !== null) continue;
      if ((await p.call<string[]>('holds')).includes(EIP)) out.push(name);
    }
    return out;
  };

  beforeAll(async () => {
    const esbuild = await import('esbuild');
    const dir = join(here, '..', 'node_modules', '.cache', 'egwpeers');
    mkdirSync(dir, { recursive: true });
    bundlePath = join(dir, `peer-node-${process.pid}.mjs`);
    const out = await esbuild.build({
      entryPoints: [join(here, 'peer-node-entry.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    writeFileSync(bundlePath, out.outputFiles[0]?.contents ?? new Uint8Array());
    const sw = ns('sw');
    run('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const m of members) await start(m.name, m.ipv4, { keys: [key(1)] });
  }, 60_000);

  afterAll(() => {
    for (const p of nodes.values()) p.child.kill('SIGKILL');
    for (const n of namespaces.splice(0)) {
      const r = spawnSync('ip', ['netns', 'pids', n], { encoding: 'utf8' });
      for (const pid of (r.stdout ?? '').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone
        }
      }
      spawnSync('ip', ['netns', 'del', n]);
    }
    spawnSync('rm', ['-f', bundlePath]);
  });

  const logs = () =>
    [...nodes].map(([n, p]) => `--- ${n}\n${p.stderr.split('\n').slice(0, 15).join('\n')}`).join('\n');

  it("the node the status names holds the EIP on its peers' acknowledgements; a dead holder is replaced by the next node", async () => {
    await eventually('node1 holds', async () =>
      (await holders()).join() === 'node1' ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    for (const n of ['node1', 'node2', 'node3'])
      expect(await nodes.get(n)?.call('modes')).toEqual({ egw1: 'peers' });
    const m = (await nodes.get('node2')?.call<string>('metrics')) ?? '';
    expect(m).toContain('egw_agent_peers_alive{gateway="egw1"} 2');
    expect(m).toMatch(/egw_agent_peer_adverts_received_total [1-9]/);
    nodes.get('node1')?.child.kill('SIGKILL');
    await eventually('node2 takes over', async () =>
      (await holders()).join() === 'node2' ? true : undefined,
    );
    const m2 = (await nodes.get('node2')?.call<string>('metrics')) ?? '';
    expect(m2).toContain('egw_agent_peer_takeovers_total{gateway="egw1"} 1');
    expect(nodes.get('node2')?.stderr).toContain('"from":"node1"');
  });

  it('a node with another key is refused by the others, hears nobody, and falls back to API fencing', async () => {
    const stranger = await start('node4', '198.18.22.4', {
      keys: [key(9)],
      members: [...members, { name: 'node4', ipv4: '198.18.22.4' }],
    });
    await eventually('node4 falls back', async () => {
      const modes = await stranger.call<Record<string, string>>('modes');
      return modes.egw1 === 'silent' ? true : undefined;
    });
    expect(stranger.stderr).toContain('gateway peers fallback: api fencing decides');
    expect(await stranger.call('holds')).toEqual([]);
    // The tag is checked first: node4 signs with a key node2 does not hold.
    const m = (await nodes.get('node2')?.call<string>('metrics')) ?? '';
    expect(m).toMatch(/egw_agent_peer_adverts_rejected_total\{reason="bad-tag"\} [1-9]/);
  });
});
