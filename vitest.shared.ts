import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Shared vitest settings for every package: tests beside the code, a JSON report per package in
 * `.test-results/` (summed by `.ci/run`), and the fast-check setup (fixed seed in CI).
 */
export function packageTestConfig(name: string, overrides: { testTimeout?: number } = {}) {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      passWithNoTests: true,
      setupFiles: [`${root}vitest.setup.ts`],
      testTimeout: overrides.testTimeout ?? 20_000,
      reporters: ['default', ['json', { outputFile: `${root}.test-results/${name}.json` }]],
    },
  });
}
