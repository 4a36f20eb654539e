import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.ts';

export default defineConfig({
  ...libraryBuild,
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  external: ['fast-check'],
  dts: true,
});
