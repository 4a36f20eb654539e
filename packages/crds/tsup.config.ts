import { defineConfig } from 'tsup';
import { mapsWithoutSources } from '../../tsup.shared.ts';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  esbuildOptions: mapsWithoutSources,
  target: 'node20',
  external: ['fast-check'],
});
