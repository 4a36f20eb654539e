import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.ts';

export default defineConfig({
  ...libraryBuild,
  entry: ['src/index.ts', 'src/testing/index.ts'],
  dts: true,
  external: ['fast-check'],
});
