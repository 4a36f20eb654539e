// Bundles a benchmark child script into one ESM file the way the apps' bins are bundled (see
// packages/controller/tsup.config.ts and packages/agent/tsup.config.ts): every dependency inside
// except pino (its transports load modules by name in a worker thread) and netlink (a native
// addon found relative to its own files); dynamic imports left to Node. A child measured this way
// loads the same code in the same form as the shipped `egw-controller` / `egw-agent`, so its RSS
// is the bin's, not that of ~1,000 separately loaded client-node modules.
//
// esbuild is the one tsup already depends on (hoisted at the repository root).
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const unbundled = /^(pino|pino-pretty|thread-stream|netlink)(\/|$)/;

/**
 * Bundles `entry` to `outfile`; resolves to `outfile`. EGW_BENCH_ALIAS="pkg=/path/src/index.ts,..."
 * swaps a package for other sources (e.g. a workspace package as committed, to tell changes apart).
 */
export async function bundleChild(entry, outfile) {
  const alias = Object.fromEntries(
    (process.env.EGW_BENCH_ALIAS ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=')),
  );
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: false,
    // As the bins (tsup.shared.ts): the bundle's source text stays on the heap, so its size counts.
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    alias,
    // Aliased sources outside the repository still resolve their dependencies here.
    nodePaths: [fileURLToPath(new URL('../../node_modules', import.meta.url))],
    banner: {
      js: "import { createRequire as __egwCreateRequire } from 'node:module';\nconst require = __egwCreateRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'externals',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) =>
            args.kind === 'dynamic-import' || unbundled.test(args.path)
              ? { path: args.path, external: true }
              : undefined,
          );
        },
      },
    ],
  });
  return outfile;
}

/**
 * The node flags an app's bin starts with, from its shebang (`#!/usr/bin/env -S node --flag ...`),
 * so a benchmark child runs with the same V8 settings as the shipped executable.
 * EGW_BENCH_NO_BIN_FLAGS=1 returns none (to measure what the flags change).
 */
export function binNodeFlags(binFile) {
  if (process.env.EGW_BENCH_NO_BIN_FLAGS) return [];
  const first = readFileSync(binFile, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env\s+(?:-S\s+)?node((?:\s+--\S+)*)\s*$/.exec(first);
  if (!m) throw new Error(`${binFile}: unexpected shebang ${first}`);
  return m[1].split(/\s+/).filter(Boolean);
}
