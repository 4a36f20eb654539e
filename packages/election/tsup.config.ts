import { defineConfig } from 'tsup';
import { mapsWithoutSources } from '../../tsup.shared.ts';

export default defineConfig({
  entry: { index: 'src/index.ts', kubernetes: 'src/kubernetes.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  esbuildOptions: mapsWithoutSources,
  target: 'node20',
});
