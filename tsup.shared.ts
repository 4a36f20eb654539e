import type { Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

/**
 * Source maps are published without the sources embedded: a stack trace under
 * `node --enable-source-maps` still names the `src/*.ts` file and line, and the maps shrink to a
 * fraction (with the sources inside they were 55-68 % of every unpacked package).
 */
export const mapsWithoutSources: NonNullable<Options['esbuildOptions']> = (options) => {
  options.sourcesContent = false;
};

/** A library entry (`src/index.ts`): unbundled ESM + CJS with types, as every package publishes it. */
export const libraryBuild: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  esbuildOptions: mapsWithoutSources,
  target: 'node20',
};

/**
 * An app's executable (`src/bin.ts` -> `dist/bin.js`) as one ESM file with its dependencies
 * inside. Loading @kubernetes/client-node as ~1,000 separate modules costs ~80 MB of RSS; bundled,
 * a fraction of that. Always external: pino and what its transports load by name in their worker
 * thread (pino-pretty, thread-stream), which a bundle cannot provide; `external` adds more (e.g.
 * netlink, which loads its native addon relative to its own files).
 */
export function appBinBuild(
  options: { external?: string[]; esbuildPlugins?: EsbuildPlugin[] } = {},
): Options {
  const keep = ['pino', 'pino-pretty', 'thread-stream', ...(options.external ?? [])];
  return {
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    clean: false,
    splitting: false,
    sourcemap: true,
    esbuildOptions: mapsWithoutSources,
    target: 'node20',
    platform: 'node',
    // Whitespace and syntax only (names stay, so stack traces name functions; dist/bin.js.map and
    // `node --enable-source-maps` give source positions): the file is half the size, and the
    // source text of the whole bundle stays on the V8 heap for the life of the process.
    minifyWhitespace: true,
    minifySyntax: true,
    noExternal: [
      new RegExp(`^(?!(${keep.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(/|$))`),
    ],
    ...(options.esbuildPlugins ? { esbuildPlugins: options.esbuildPlugins } : {}),
    // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __egwCreateRequire } from 'node:module';\nconst require = __egwCreateRequire(import.meta.url);",
    },
  };
}
