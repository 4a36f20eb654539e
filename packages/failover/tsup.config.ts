import { defineConfig, type Options } from 'tsup';
import { mapsWithoutSources } from '../../tsup.shared.ts';

const common: Options = {
  sourcemap: true,
  esbuildOptions: mapsWithoutSources,
  target: 'node20',
  external: ['fast-check'],
  // The engine publishes no dependencies: netaddr (a workspace package) is bundled into its code
  // and its types are inlined into the .d.ts files.
  noExternal: ['@egressgateway/netaddr'],
};

export default defineConfig([
  {
    ...common,
    entry: {
      index: 'src/index.ts',
      'testing/index': 'src/testing/index.ts',
      simulator: 'src/testing/simulator-entry.ts',
    },
    format: ['esm', 'cjs'],
    dts: { resolve: ['@egressgateway/netaddr'] },
    clean: true,
  },
  // The `egw-failover` executable, ESM only (its bin is dist/cli.js). src/cli.ts starts with a
  // shebang; tsup keeps it and marks the file executable.
  { ...common, entry: { cli: 'src/cli.ts' }, format: ['esm'], clean: false },
]);
