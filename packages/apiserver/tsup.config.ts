import { defineConfig } from 'tsup';
import { libraryBuild, mapsWithoutSources } from '../../tsup.shared.ts';

// The library as ESM + CJS; the `egw-apiserver` executable as ESM only (its bin is dist/bin.js:
// a CJS copy would be published and never run).
export default defineConfig([
  libraryBuild,
  {
    entry: ['src/bin.ts'],
    format: ['esm'],
    clean: false,
    sourcemap: true,
    esbuildOptions: mapsWithoutSources,
    target: 'node20',
  },
]);
