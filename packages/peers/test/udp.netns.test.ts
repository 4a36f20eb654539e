import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdvertKey, encodeAdvert } from '../src/codec.js';
import type { Advert } from '../src/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) console.warn('netns tests need root (CAP_NET_ADMIN) to create network namespaces; skipped');

/** Runs a command from an argument array (no shell); throws with stderr on failure. */
function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} -> ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** JSON-lines client of test/udp-driver.mjs running in a namespace. */
class Driver {
  readonly ready: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  stderr = '';

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
      const err = new Error(`driver exited ${code}: ${this.stderr}`);
      onFail(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, i)) as {
          ready?: boolean;
          id?: number;
          result?: unknown;
          error?: { message: string };
        };
        buf = buf.slice(i + 1);
        if (msg.ready) onReady();
        else if (msg.id !== undefined) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error) p?.reject(new Error(msg.error.message));
          else p?.resolve(msg.result);
        }
      }
    });
  }

  call<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, method, args })}\n`);
    });
  }
}

/** Namespaces `<prefix>-sw` (a bridge) and one per node, each with eth0 on the bridge. */
class Lab {
  readonly prefix = `egwpeer-${process.pid}`;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'egwpeer-'));

  ns(name: string): string {
    const ns = `${this.prefix}-${name}`;
    run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A node namespace on the bridge with the given addresses (IPv6 without duplicate detection). */
  node(sw: string, name: string, ipv4: string, ipv6: string): string {
    const ns = this.ns(name);
    const port = `p-${name}`;
    run('ip', ['-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    run('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${ipv4}/24`, 'dev', 'eth0']);
    run('ip', ['-n', ns, 'addr', 'add', `${ipv6}/64`, 'dev', 'eth0', 'nodad']);
    run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    return ns;
  }

  async driver(ns: string, bundlePath: string, options: object): Promise<Driver> {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        join(here, 'udp-driver.mjs'),
        bundlePath,
        JSON.stringify(options),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.children.push(child);
    const d = new Driver(child);
    await d.ready;
    return d;
  }

  teardown(): void {
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0)) {
      const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const p of (r.stdout ?? '').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', ns]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const key1: AdvertKey = { id: 'k1', secret: Buffer.alloc(32, 1) };
const key2: AdvertKey = { id: 'k2', secret: Buffer.alloc(32, 2) };
const hexKey = (k: AdvertKey) => ({ id: k.id, secret: Buffer.from(k.secret).toString('hex') });
const addr = {
  a: ['198.18.21.1', 'fd00:21::1'],
  b: ['198.18.21.2', 'fd00:21::2'],
  c: ['198.18.21.3', 'fd00:21::3'],
};
type Name = keyof typeof addr;
const names: Name[] = ['a', 'b', 'c'];

const advert = (node: string, seq: number, group = 'egw1'): Advert => ({
  group,
  node,
  epoch: 1_000,
  seq,
  sentAtWall: Date.now(),
  apiOk: true,
  wants: ['198.51.100.7'],
  holds: ['198.51.100.7'],
  backing: { '198.51.100.7': { holder: node, epoch: 1_000, seq } },
});
const encode = (a: Advert, k: AdvertKey): string => {
  const r = encodeAdvert(a, k);
  if (!r.ok) throw new Error(r.reason);
  return Buffer.from(r.bytes).toString('hex');
};
type Received = Array<{ advert: Advert; keyId: string }>;

/** Polls until `check` holds (the datagrams travel through real sockets), at most 5 s. */
async function eventually<T>(get: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  let v = await get();
  for (let i = 0; i < 100 && !check(v); i++) {
    await new Promise((r) => setTimeout(r, 50));
    v = await get();
  }
  return v;
}

// Three gateway nodes on one bridge: a, b, c. Every family is tested with its own transports (the
// member addresses of a group are of one family per node).
describe.skipIf(!isRoot)('PeerTransport between network namespaces', () => {
  const lab = new Lab();
  const ns = {} as Record<Name, string>;
  const v4 = {} as Record<Name, Driver>;
  const v6 = {} as Record<Name, Driver>;

  beforeAll(async () => {
    const esbuild = await import('esbuild');
    const bundlePath = join(lab.dir, 'peers.mjs');
    const out = await esbuild.build({
      entryPoints: [join(here, '..', 'src', 'index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    writeFileSync(bundlePath, out.outputFiles[0]?.contents ?? new Uint8Array());
    const sw = lab.ns('sw');
    run('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    for (const n of names) ns[n] = lab.node(sw, n, addr[n][0] as string, addr[n][1] as string);
    for (const n of names) {
      const common = {
        node: n,
        // b holds the old and the new key at once (a rotation in progress); a and c sign with k1.
        keys: n === 'b' ? [hexKey(key2), hexKey(key1)] : [hexKey(key1)],
      };
      v4[n] = await lab.driver(ns[n], bundlePath, {
        ...common,
        port: 7790,
        bind: { ipv4: addr[n][0] },
        // egw2 has a and b only: c is no member of it.
        groups: {
          egw1: names.map((m) => [m, addr[m][0]]),
          egw2: (['a', 'b'] as const).map((m) => [m, addr[m][0]]),
        },
      });
      v6[n] = await lab.driver(ns[n], bundlePath, {
        ...common,
        port: 7791,
        bind: { ipv6: addr[n][1] },
        // Written uncompressed: the source check compares canonical forms.
        groups: { egw1: names.map((m) => [m, (addr[m][1] as string).replace('::', ':0:0:0:0:0:')]) },
      });
    }
  }, 60_000);

  afterAll(() => lab.teardown());

  const received = (d: Driver) => d.call<Received>('received');
  const rejections = (d: Driver) => d.call<Record<string, number>>('rejections');

  it('delivers an advert to every other member over IPv4 and IPv6, signed with a key the receiver holds', async () => {
    for (const drivers of [v4, v6]) {
      expect(await drivers.a.call<number>('send', advert('a', 1))).toBe(2);
      for (const n of ['b', 'c'] as const) {
        const got = await eventually(
          () => received(drivers[n]),
          (r) => r.length >= 1,
        );
        expect(got.map((r) => [r.advert.node, r.advert.seq, r.keyId])).toEqual([['a', 1, 'k1']]);
        expect(got[0]?.advert.holds).toEqual(['198.51.100.7']);
      }
      // b signs with its new key k2; c does not hold k2 yet, a neither: both refuse it as unknown-key.
      expect(await drivers.b.call<number>('send', advert('b', 1))).toBe(2);
      const refused = await eventually(
        () => rejections(drivers.c),
        (r) => (r['unknown-key'] ?? 0) >= 1,
      );
      expect(refused['unknown-key']).toBe(1);
      expect(await received(drivers.a)).toEqual([]);
    }
  });

  it('refuses a forged tag, a replay, a wrong source, an unknown group or member, and acts on none of them', async () => {
    const [b4, c4] = [addr.b[0] as string, addr.c[0] as string];
    const before = (await received(v4.b)).length;
    const raw = (from: Name, hex: string) => v4[from].call('sendRaw', hex, addr[from][0], b4, 7790);

    // Same key id, another secret: the tag does not verify.
    await raw('a', encode(advert('a', 5), { id: 'k1', secret: Buffer.alloc(32, 9) }));
    // A correctly signed advert of a, sent twice from a's address: the second is a replay.
    const genuine = encode(advert('a', 6), key1);
    await raw('a', genuine);
    await raw('a', genuine);
    // Correctly signed and claiming to be a, but sent from c's address.
    await raw('c', encode(advert('a', 7), key1));
    // A gateway b does not serve.
    await raw('a', encode(advert('a', 8, 'egw3'), key1));
    // Another gateway b serves: its sequence numbers are its own (seq 1 after egw1's 6 is fresh).
    await raw('a', encode(advert('a', 1, 'egw2'), key1));
    // c is no member of egw2.
    await raw('c', encode(advert('c', 1, 'egw2'), key1));
    // An older sequence number of a than one already admitted.
    await raw('a', encode(advert('a', 2), key1));

    const r = await eventually(
      () => rejections(v4.b),
      (x) => (x['replayed-seq'] ?? 0) >= 2 && (x['unknown-node'] ?? 0) >= 1,
    );
    expect(r).toMatchObject({
      'bad-tag': 1,
      'replayed-seq': 2,
      'wrong-source': 1,
      'wrong-group': 1,
      'unknown-node': 1,
    });
    const got = (await received(v4.b)).slice(before);
    expect(got.map((x) => [x.advert.group, x.advert.node, x.advert.seq])).toEqual([
      ['egw1', 'a', 6],
      ['egw2', 'a', 1],
    ]);
    // The refusals were logged, each reason once (rate limit), with the offending source.
    expect(v4.b.stderr).toContain(`"reason":"wrong-source","source":"${c4}"`);
    expect(v4.b.stderr.match(/"reason":"replayed-seq"/g)).toHaveLength(1);
  });
});
