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
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  external: ['fast-check'],
});
