import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Shared vitest settings for every package: tests beside the code, a JSON report per package in
 * `.test-results/` (summed by `.ci/run`), and the fast-check setup (fixed seed in CI). A second run
 * of the same tests (e.g. on Node 24) names itself in `EGW_TEST_RUN` (`node24`), so its reports
 * sit beside the first run's instead of replacing them. `retry` (default 0) runs a failed test again
 * that many times; a test that passed only on a retry keeps its earlier failures in the report, and
 * `.ci/summary.mjs` names it with them.
 */
export function packageTestConfig(name: string, overrides: { testTimeout?: number; retry?: number } = {}) {
  const run = process.env.EGW_TEST_RUN ? `.${process.env.EGW_TEST_RUN}` : '';
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      passWithNoTests: true,
      setupFiles: [`${root}vitest.setup.ts`],
      testTimeout: overrides.testTimeout ?? 20_000,
      retry: overrides.retry ?? 0,
      reporters: ['default', ['json', { outputFile: `${root}.test-results/${name}${run}.json` }]],
    },
  });
}
