import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    simulator: 'src/testing/simulator-entry.ts',
    // src/cli.ts starts with a shebang; tsup keeps it and marks the file executable.
    cli: 'src/cli.ts',
  },
  format: ['esm', 'cjs'],
  dts: { resolve: ['@egressgateway/netaddr'] },
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['fast-check'],
  // The engine publishes no dependencies: netaddr (a workspace package) is bundled into its code
  // and its types are inlined into the .d.ts files.
  noExternal: ['@egressgateway/netaddr'],
});
