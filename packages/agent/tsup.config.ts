import { defineConfig } from 'tsup';
import { appBinBuild, libraryBuild } from '../../tsup.shared.ts';

// The library (`import { main } from '@egressgateway/agent'`) and the `egw-agent` executable.
// netlink stays external: it loads its native addon (node-gyp-build) relative to its own files.
export default defineConfig([libraryBuild, appBinBuild({ external: ['netlink'] })]);
