import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartCrdsDir, packageCrdsDir } from '../src/paths.mjs';

describe('chart CRDs', () => {
  it('are exactly the manifests @egressgateway/crds generates (fix: npm run sync-crds -w @egressgateway-tools/chart)', () => {
    const list = (d: string) =>
      readdirSync(d)
        .filter((f) => f.endsWith('.yaml'))
        .sort();
    expect(list(chartCrdsDir)).toEqual(list(packageCrdsDir));
    for (const f of list(packageCrdsDir)) {
      const stale =
        readFileSync(join(chartCrdsDir, f), 'utf8') !== readFileSync(join(packageCrdsDir, f), 'utf8');
      expect(
        stale,
        `charts/egressgateway/crds/${f} is stale: run "npm run sync-crds -w @egressgateway-tools/chart"`,
      ).toBe(false);
    }
  });
});
