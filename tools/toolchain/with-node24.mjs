#!/usr/bin/env node
// Runs a command with the pinned Node 24 first on PATH, so every `node` it starts (npx, nx,
// vitest workers, spawned bins) is the images' runtime. Used by .ci/run for the second test run:
//   node tools/toolchain/with-node24.mjs npx nx run-many -t test ...
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { toolPath } from './index.mjs';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error('usage: with-node24.mjs <command> [args...]');
  process.exit(2);
}
const binDir = dirname(toolPath('node24'));
const r = spawnSync(cmd, args, {
  stdio: 'inherit',
  env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}`, EGW_TEST_RUN: 'node24' },
});
if (r.error) {
  console.error(`with-node24: ${cmd}: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
