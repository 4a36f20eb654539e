import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.shared.ts';

export default defineConfig({
  ...libraryBuild,
  entry: { index: 'src/index.ts', kubernetes: 'src/kubernetes.ts', 'testing/index': 'src/testing/index.ts' },
  dts: true,
});
