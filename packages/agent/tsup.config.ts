import { defineConfig } from 'tsup';

export default defineConfig([
  // The library (`import { main } from '@egressgateway/agent'`): unbundled, ESM + CJS + types.
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: { entry: 'src/index.ts' },
    clean: true,
    sourcemap: true,
    target: 'node20',
  },
  // The `egw-agent` executable: one ESM file with every dependency inside but pino and netlink.
  // Loading @kubernetes/client-node as ~1,000 separate modules costs ~80 MB of RSS; bundled, a
  // fraction of that.
  {
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    clean: false,
    splitting: false,
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // Not bundled: pino, whose transports (pino-pretty) run in a worker thread that loads modules
    // by name; netlink, which loads its native addon (node-gyp-build) relative to its own files.
    noExternal: [/^(?!(pino|pino-pretty|thread-stream|netlink)(\/|$))/],
    // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __egwCreateRequire } from 'node:module';\nconst require = __egwCreateRequire(import.meta.url);",
    },
  },
]);
