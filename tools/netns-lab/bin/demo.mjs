#!/usr/bin/env node
// `npm run demo`: the netns lab's demo (src/demo.ts). The packages it starts (API server,
// controller, agent) are built by the lab with tsup when their dist/ is missing or stale.
import { importSource, requireRoot } from './bundle.mjs';

requireRoot('demo');
const { runDemo } = await importSource('demo');
process.exit(await runDemo(process.argv.slice(2)));
