import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', kubernetes: 'src/kubernetes.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
