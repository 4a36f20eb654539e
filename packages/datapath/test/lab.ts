import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');

/** True when the tests may create network namespaces. */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Reason printed when netns tests are skipped. */
export const skipReason = 'netns tests need root (CAP_NET_ADMIN) to create network namespaces; skipped';

/** Runs a command (argument array, no shell); throws with stderr on failure. */
export function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: input ?? '', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} -> ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a command and returns its exit status and output without throwing. */
export function tryRun(
  cmd: string,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let bundlePromise: Promise<string> | undefined;

/**
 * Bundles src/index.ts so that child processes (which run plain Node inside a namespace) import
 * the current source. The file name is the hash of the sources: test workers running in
 * parallel share one bundle, written atomically (temp file + rename).
 */
export function bundle(): Promise<string> {
  bundlePromise ??= (async () => {
    const esbuild = await import('esbuild');
    const srcDir = join(pkg, 'src');
    const hash = createHash('sha256');
    for (const f of readdirSync(srcDir).sort()) hash.update(f).update(readFileSync(join(srcDir, f)));
    const outDir = join(pkg, 'node_modules', '.cache', 'egwdp');
    mkdirSync(outDir, { recursive: true });
    const outfile = join(outDir, `datapath-${hash.digest('hex').slice(0, 16)}.mjs`);
    if (existsSync(outfile)) return outfile;
    const result = await esbuild.build({
      entryPoints: [join(srcDir, 'index.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    const tmp = `${outfile}.${process.pid}.tmp`;
    writeFileSync(tmp, result.outputFiles[0]?.contents ?? new Uint8Array());
    renameSync(tmp, outfile);
    // Bundles of older sources are no longer needed.
    for (const f of readdirSync(outDir)) {
      const path = join(outDir, f);
      if (path !== outfile && Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { force: true });
    }
    return outfile;
  })();
  return bundlePromise;
}

let labCounter = 0;
const liveLabs = new Set<Lab>();
process.on('exit', () => {
  for (const lab of liveLabs) lab.teardown();
});

/** A set of network namespaces with a unique prefix; `teardown` deletes them all. */
export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor() {
    labCounter += 1;
    this.prefix = `egwdp-${process.pid}-${labCounter}`;
    liveLabs.add(this);
  }

  /** Creates namespace `<prefix>-<name>` with loopback up and the hardened defaults of the prototype. */
  ns(name: string, opts: { forward?: boolean } = {}): string {
    const ns = `${this.prefix}-${name}`;
    run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    if (opts.forward === true) {
      this.sysctl(ns, 'net.ipv4.ip_forward', '1');
      this.sysctl(ns, 'net.ipv6.conf.all.forwarding', '1');
      this.sysctl(ns, 'net.ipv4.conf.all.rp_filter', '1');
    }
    return ns;
  }

  sysctl(ns: string, key: string, value: string): void {
    run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** `ip -n ns ...` */
  ip(ns: string, ...args: string[]): string {
    return run('ip', ['-n', ns, ...args]);
  }

  /** Runs a command inside a namespace. */
  exec(ns: string, cmd: string, args: string[], input?: string): string {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], input);
  }

  /** A veth pair between two namespaces, both ends up. */
  veth(nsA: string, ifA: string, nsB: string, ifB: string, macA?: string): void {
    const tmp = `v${process.pid % 10000}x${Math.floor(Math.random() * 1e6)}`.slice(0, 15);
    run('ip', [
      '-n',
      nsA,
      'link',
      'add',
      ifA,
      ...(macA ? ['address', macA] : []),
      'type',
      'veth',
      'peer',
      'name',
      tmp,
    ]);
    run('ip', ['-n', nsA, 'link', 'set', tmp, 'netns', nsB]);
    run('ip', ['-n', nsB, 'link', 'set', tmp, 'name', ifB]);
    run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
    run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
  }

  /** Starts a background process in a namespace (exec'd directly, so its pid is the real one). */
  spawn(ns: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Starts a binder driver inside `ns`. */
  async driver(ns: string, options: object = {}): Promise<Driver> {
    const mod = await bundle();
    const child = this.spawn(ns, process.execPath, [join(here, 'driver.mjs'), mod, JSON.stringify(options)]);
    const d = new Driver(child);
    await d.ready;
    return d;
  }

  /** Kills every process in the namespaces and deletes them. Safe to call twice. */
  teardown(): void {
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
    for (const ns of this.namespaces.splice(0)) {
      const pids = tryRun('ip', ['netns', 'pids', ns]).stdout.split('\n').filter(Boolean);
      for (const p of pids) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      tryRun('ip', ['netns', 'del', ns]);
    }
    liveLabs.delete(this);
  }
}

/** JSON-lines client of test/driver.mjs. */
export class Driver {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';

  constructor(child: ChildProcess) {
    this.child = child;
    let buf = '';
    let readyResolve: () => void = () => {};
    let readyReject: (e: Error) => void = () => {};
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    child.on('exit', (code) => {
      const err = new Error(`driver exited ${code}: ${this.stderr}`);
      readyReject(err);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
        const msg = JSON.parse(line) as {
          ready?: boolean;
          id?: number;
          result?: unknown;
          error?: { message: string };
        };
        if (msg.ready === true) readyResolve();
        else if (msg.id !== undefined) {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (msg.error !== undefined) p?.reject(new Error(msg.error.message));
          else p?.resolve(msg.result);
        }
      }
    });
  }

  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin?.write(`${JSON.stringify({ id, method, args })}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call('exit').catch(() => undefined);
    await exited;
  }
}

/** Waits until `fn` returns true, polling every `stepMs`, up to `timeoutMs`. */
export async function waitFor(fn: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return fn();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
