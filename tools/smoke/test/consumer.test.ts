import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without declarations
import { toolPath } from '../../toolchain/index.mjs';

// A stranger's view: the libraries packed with `npm pack`, installed into a fresh app outside the
// monorepo (so only their declared dependencies are there, from the npm registry), and each
// README's smallest example run as written, in a terminal and piped. This is the test that would
// have caught the logger that needed an undeclared pino-pretty on a terminal.
const packagesDir = fileURLToPath(new URL('../../../packages/', import.meta.url));
const node24 = toolPath('node24') as string;
let app = '';

/** A README's first js/ts code block after `heading`. */
function example(pkg: string, heading: string): { code: string; ext: 'mjs' | 'mts' } {
  const readme = readFileSync(join(packagesDir, pkg, 'README.md'), 'utf8');
  const block = /```(ts|js)\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)));
  if (block === null || !readme.includes(heading))
    throw new Error(`${pkg}/README.md has no code block under "${heading}"`);
  return { code: block[2] as string, ext: block[1] === 'ts' ? 'mts' : 'mjs' };
}

/** Runs argv with a pseudo-terminal as stdout (Python's pty module: an argument array, no shell). */
function inTerminal(argv: string[]) {
  const pty =
    'import os, pty, sys\nstatus = pty.spawn(sys.argv[1:])\nsys.exit(os.waitstatus_to_exitcode(status))';
  return spawnSync('python3', ['-c', pty, ...argv], { cwd: inApp(), encoding: 'utf8', timeout: 60_000 });
}

function piped(argv: string[]) {
  return spawnSync(argv[0] as string, argv.slice(1), { cwd: inApp(), encoding: 'utf8', timeout: 60_000 });
}

const dirs: string[] = [];

/** A path in the installed app (never in this package, should the install have failed). */
function inApp(...parts: string[]): string {
  if (app === '') throw new Error('the consumer app was not installed');
  return join(app, ...parts);
}

/** Packs the libraries into a fresh app dir and installs them (plus `extra` manifest fields). */
function installApp(extra: Record<string, unknown> = {}, deps: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'egw-consumer-'));
  dirs.push(dir);
  const tgz = join(dir, 'tgz');
  mkdirSync(tgz);
  const dependencies: Record<string, string> = {};
  for (const d of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    const manifest = JSON.parse(readFileSync(join(packagesDir, d.name, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    const r = spawnSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', tgz], {
      cwd: join(packagesDir, d.name),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    dependencies[manifest.name] = `file:tgz/${r.stdout.trim().split('\n').at(-1)}`;
  }
  const manifest = {
    name: 'consumer',
    private: true,
    type: 'module',
    dependencies: { ...dependencies, ...deps },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...manifest, ...extra }));
  // --ignore-scripts: netlink's native build is not needed by these examples (datapath needs root).
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 240_000,
  });
  expect(install.status, install.stderr).toBe(0);
  return dir;
}

beforeAll(() => {
  app = installApp();
}, 300_000);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const examples = [
  {
    pkg: 'failover',
    heading: '## Smallest example',
    prints: 'EIPMoved EIP 10.6.1.56/fd00::56 moved from node1 to node2',
  },
  { pkg: 'election', heading: '## Smallest example', prints: 'b: leading' },
  { pkg: 'netaddr', heading: '## Example', prints: 'has a zone index' },
  { pkg: 'apiserver', heading: '## Smallest example', prints: '1' },
];

describe('the packed libraries in a fresh app', () => {
  it('installs without pino-pretty (no package declares it)', () => {
    expect(() => readFileSync(inApp('node_modules', 'pino-pretty', 'package.json'))).toThrow();
  });

  for (const { pkg, heading, prints } of examples) {
    it(`${pkg}: the README's smallest example runs as written, piped and in a terminal (Node 24)`, () => {
      const { code, ext } = example(pkg, heading);
      const file = `${pkg}-example.${ext}`;
      writeFileSync(inApp(file), code);
      for (const run of [piped, inTerminal]) {
        const r = run([node24, file]);
        expect(r.status, `${run.name}: ${r.stderr}${r.stdout}`).toBe(0);
        expect(r.stdout).toContain(prints);
      }
    });
  }

  it('kube: createLogger on a terminal without pino-pretty logs json and says why; piped it logs json', () => {
    writeFileSync(
      inApp('logger.mjs'),
      "import { createLogger } from '@egressgateway/kube';\ncreateLogger({ name: 'consumer' }).info({ tty: Boolean(process.stdout.isTTY) }, 'hello');\n",
    );
    const tty = inTerminal([process.execPath, 'logger.mjs']);
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toContain('pretty log output needs the package pino-pretty');
    expect(tty.stdout).toContain('"tty":true,"msg":"hello"');
    const pipe = piped([process.execPath, 'logger.mjs']);
    expect(pipe.status).toBe(0);
    expect(pipe.stdout).toContain('"tty":false,"msg":"hello"');
    expect(pipe.stdout).not.toContain('pino-pretty');
  });

  it('egw-controller from the install starts its logger on a terminal and names a bad kubeconfig', () => {
    const r = inTerminal([
      process.execPath,
      'node_modules/.bin/egw-controller',
      '--kubeconfig',
      '/nonexistent/kubeconfig',
    ]);
    // Before the fix: a crash with pino's "unable to determine transport target" and no log line.
    expect(r.stdout).toContain('logging json lines');
    expect(r.stdout).toContain('/nonexistent/kubeconfig');
    expect(r.status).not.toBe(0);
  });
});

// client-node 2.x (fetch over undici) is what `npm install @kubernetes/client-node` gives today;
// the libraries accept ^1.4.0 || ^2.0.0, so a project on 2.x gets one copy. 2.x itself needs
// Node 22 or newer (its undici does not load on Node 20), so this runs on the toolchain's Node 24.
const CLIENT_NODE_2 = '2.0.1';
const KUBE_AND_ELECTION = `
import { startApiServer } from '@egressgateway/apiserver';
import { customResourceDefinitions } from '@egressgateway/crds';
import { LeaderElector } from '@egressgateway/election';
import { KubernetesLeaseLock } from '@egressgateway/election/kubernetes';
import { EGRESS_TUNNELS, Informer, KubeClient, updateStatus } from '@egressgateway/kube';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';

const server = await startApiServer({ port: 0 });
const kc = new KubeConfig();
kc.loadFromString(server.kubeconfigYaml);
const objects = KubernetesObjectApi.makeApiClient(kc);
for (const crd of customResourceDefinitions()) await objects.create(crd);
const client = new KubeClient(kc);
await client.create(EGRESS_TUNNELS, { apiVersion: 'egressgateway.spidernet.io/v1beta1', kind: 'EgressTunnel', metadata: { name: 'node1' }, spec: {} });
const tunnels = new Informer(client.listWatch(EGRESS_TUNNELS), { name: 'egresstunnels' }, {});
tunnels.start();
await tunnels.waitForSync();
const written = await updateStatus(client, EGRESS_TUNNELS, 'node1', undefined, tunnels.get('node1'), () => ({ phase: 'Ready' }));
for (let i = 0; i < 100 && tunnels.get('node1')?.status?.phase !== 'Ready'; i++) await new Promise((r) => setTimeout(r, 20));
const lock = await KubernetesLeaseLock.fromKubeConfig(kc, { namespace: 'default', name: 'consumer' });
const leading = new Promise((resolve) => {
  const elector = new LeaderElector({ lock, identity: 'a', onStartedLeading: () => resolve(elector) });
  elector.start();
});
const elector = await leading;
const version = JSON.parse(readFileSync('node_modules/@kubernetes/client-node/package.json', 'utf8')).version;
console.log(JSON.stringify({ version, written: written.written, watched: tunnels.get('node1')?.status?.phase, leader: elector.isLeader() }));
await elector.stop();
tunnels.stop();
await server.close();
`;

describe(`the libraries on @kubernetes/client-node ${CLIENT_NODE_2}`, () => {
  it('kube (list, watch, status write) and the Lease lock work on Node 24 with one client-node copy', () => {
    const dir = installApp(
      { overrides: { '@kubernetes/client-node': CLIENT_NODE_2 } },
      { '@kubernetes/client-node': CLIENT_NODE_2 },
    );
    writeFileSync(join(dir, 'kube-election.mjs'), KUBE_AND_ELECTION);
    const r = spawnSync(node24, ['kube-election.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1) as string)).toEqual({
      version: CLIENT_NODE_2,
      written: true,
      watched: 'Ready',
      leader: true,
    });
    const copies = spawnSync('npm', ['ls', '@kubernetes/client-node', '--all', '--parseable'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(copies.stdout.trim().split('\n')).toHaveLength(1);
  }, 300_000);
});
