import { defineConfig, type Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

/**
 * Leaves `import('x')` expressions out of the bundle. @egressgateway/election loads client-node
 * lazily with `import('@kubernetes/client-node')` (a namespace import, so a bundler must keep every
 * generated model: 14 MB of JS). The bin builds its lease lock from named imports instead and never
 * takes that path; if something did, Node would load the package from node_modules as usual.
 */
const dynamicImportsExternal: EsbuildPlugin = {
  name: 'dynamic-imports-external',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined,
    );
  },
};

export default defineConfig([
  // The library (`import { main } from '@egressgateway/controller'`): unbundled, ESM + CJS + types.
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: { entry: 'src/index.ts' },
    clean: true,
    sourcemap: true,
    target: 'node20',
  },
  // The `egw-controller` executable: one ESM file with every dependency inside. Loading
  // @kubernetes/client-node as ~1,000 separate modules costs ~80 MB of RSS; bundled, a fraction.
  // pino stays external: its transports (pino-pretty) run in a worker thread that loads modules
  // by name, which a bundle cannot provide.
  {
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    clean: false,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // Everything but pino (and what its transports load by name in their worker thread).
    noExternal: [/^(?!(pino|pino-pretty|thread-stream)(\/|$))/],
    esbuildPlugins: [dynamicImportsExternal],
    splitting: false,
    // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __egwCreateRequire } from 'node:module';\nconst require = __egwCreateRequire(import.meta.url);",
    },
  },
]);
