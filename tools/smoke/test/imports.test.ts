import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// Every library under packages/ must load through its exports map on the Node that runs CI,
// both as ESM (import) and as CJS (require), for the main entry and every subpath.
const packagesDir = new URL('../../../packages/', import.meta.url);
const require = createRequire(import.meta.url);

interface Manifest {
  name: string;
  private?: boolean;
  exports?: Record<string, unknown>;
}

const manifests: Manifest[] = readdirSync(packagesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => JSON.parse(readFileSync(new URL(`${d.name}/package.json`, packagesDir), 'utf8')) as Manifest)
  .filter((m) => !m.private);

describe('every package loads on this Node', () => {
  it(`runs on Node ${process.versions.node}, which satisfies engines >=20.19`, () => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    expect(major > 20 || (major === 20 && minor >= 19)).toBe(true);
  });

  for (const m of manifests) {
    const subpaths = Object.keys(m.exports ?? { '.': {} }).filter(
      (s) => !s.includes('*') && !s.endsWith('.json'),
    );
    for (const sub of subpaths) {
      const spec = sub === '.' ? m.name : `${m.name}/${sub.slice(2)}`;
      it(`import('${spec}') and require('${spec}') expose the same names`, async () => {
        const esm = await import(spec);
        const cjs = require(spec);
        const names = Object.keys(esm).filter((k) => k !== 'default');
        expect(names.length).toBeGreaterThan(0);
        expect(
          Object.keys(cjs)
            .filter((k) => k !== 'default' && k !== '__esModule')
            .sort(),
        ).toEqual(names.sort());
      });
    }
  }
});
