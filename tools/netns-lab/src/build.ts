import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Packages the lab runs, in dependency order (each needs the ones before it built). */
export const LAB_PACKAGES = [
  'crds',
  'failover',
  'election',
  'kube',
  'datapath',
  'apiserver',
  'controller',
  'agent',
] as const;

/**
 * What images mode runs from the tree: the API server and the CRDs it is seeded with (the
 * controllers and agents come from the images).
 */
export const IMAGES_MODE_PACKAGES = ['crds', 'apiserver'] as const;

/** A package whose build failed. */
export class BuildError extends Error {
  readonly code = 'EGW_LAB_BUILD';
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** True when `dist/` of a package is missing or older than its sources or build config. */
export function isStale(pkgDir: string): boolean {
  const out = join(pkgDir, 'dist', 'index.js');
  if (!existsSync(out)) return true;
  const built = statSync(out).mtimeMs;
  const inputs = [newestMtime(join(pkgDir, 'src'))];
  for (const f of ['package.json', 'tsup.config.ts']) {
    const p = join(pkgDir, f);
    if (existsSync(p)) inputs.push(statSync(p).mtimeMs);
  }
  return Math.max(...inputs) > built;
}

/**
 * Builds (tsup) every package the lab runs whose `dist/` is missing or stale, in dependency order,
 * so `npm run demo` works right after `npm ci`. Returns the packages it built. `packages` (in
 * dependency order) narrows the set, e.g. {@link IMAGES_MODE_PACKAGES}.
 */
export function ensureBuilt(
  repoRoot: string,
  onBuild: (pkg: string) => void = () => {},
  packages: readonly string[] = LAB_PACKAGES,
): string[] {
  const tsup = join(repoRoot, 'node_modules', 'tsup', 'dist', 'cli-default.js');
  const built: string[] = [];
  for (const name of packages) {
    const dir = join(repoRoot, 'packages', name);
    if (!isStale(dir)) continue;
    onBuild(name);
    const r = spawnSync(process.execPath, [tsup], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0)
      throw new BuildError(`building packages/${name} failed:\n${(r.stdout ?? '') + (r.stderr ?? '')}`);
    built.push(name);
  }
  return built;
}
