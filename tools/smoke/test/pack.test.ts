import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What `npm pack` puts in each published tarball: the license, the README and the changelog, and
// in dist/ only what a user's code or a shipped file reaches (an entry of `exports`/`bin`, a chunk
// one of them imports, a declaration file one of them names) plus the source map of such a file.
// Anything else is dead weight a user downloads (a CJS copy of an ESM-only bin was 680 kB once).
const packagesDir = fileURLToPath(new URL('../../../packages/', import.meta.url));

interface Manifest {
  name: string;
  private?: boolean;
  exports?: unknown;
  bin?: string | Record<string, string>;
  main?: string;
  module?: string;
  types?: string;
}

const packages = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => ({
    dir: join(packagesDir, d.name),
    manifest: JSON.parse(readFileSync(join(packagesDir, d.name, 'package.json'), 'utf8')) as Manifest,
  }))
  .filter((p) => !p.manifest.private);

/** Every string leaf of an exports map (conditions and subpaths), as a path inside the package. */
function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leaves);
  return [];
}

/** The relative specifiers a JS or declaration file imports, requires or re-exports. */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g,
  ))
    out.push(m[1] as string);
  return out;
}

function packed(dir: string): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return (
    (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? []
  );
}

describe('npm pack contents', () => {
  for (const { dir, manifest } of packages) {
    it(`${manifest.name}: license, readme, changelog, and no file nothing reaches`, () => {
      const files = packed(dir);
      expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']));
      const shipped = new Set(files);
      const bins = typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {});
      const patterns = leaves(manifest.exports).filter((l) => l.includes('*'));
      const roots = [...leaves(manifest.exports), ...bins, manifest.main, manifest.module, manifest.types]
        .filter((p): p is string => typeof p === 'string' && !p.includes('*'))
        .map((p) => normalize(p));
      const reached = new Set<string>();
      const queue = [...roots];
      while (queue.length > 0) {
        const f = queue.pop() as string;
        if (reached.has(f)) continue;
        reached.add(f);
        if (!shipped.has(f)) continue;
        if (!/\.(c?js|d\.c?ts)$/.test(f)) continue;
        for (const spec of relativeImports(readFileSync(join(dir, f), 'utf8'))) {
          const target = normalize(join(dirname(f), spec));
          // Declarations name their neighbours without an extension or with the JS one.
          const candidates = [
            target,
            target.replace(/\.c?js$/, '.d.ts'),
            target.replace(/\.cjs$/, '.d.cts'),
            `${target}.d.ts`,
          ];
          for (const c of candidates) if (shipped.has(c)) queue.push(c);
        }
      }
      for (const r of roots)
        expect(shipped.has(r), `${r} is named by package.json but not packed`).toBe(true);
      const unreached = files.filter((f) => {
        if (['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].includes(f)) return false;
        if (reached.has(f)) return false;
        if (f.endsWith('.map') && reached.has(f.slice(0, -4))) return false;
        // `./manifests/*`-style subpaths publish a folder as it is.
        if (patterns.some((p) => f.startsWith(normalize(p.slice(0, p.indexOf('*')))))) return false;
        return true;
      });
      expect(unreached).toEqual([]);
    });
  }
});
