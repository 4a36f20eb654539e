import { defineConfig, type Options } from 'tsup';
import { appBinBuild, libraryBuild } from '../../tsup.shared.ts';

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

// The library (`import { main } from '@egressgateway/controller'`) and the `egw-controller`
// executable.
export default defineConfig([libraryBuild, appBinBuild({ esbuildPlugins: [dynamicImportsExternal] })]);
