#!/usr/bin/env node
// `npm run bench -w netns-lab`: the failover benchmark (src/bench.ts), as root. Without root it
// says so and exits 0, so `npm run bench` at the root (every package's benchmark) still runs.
import { importSource } from './bundle.mjs';

const wantsHelp = process.argv.includes('--help') || process.argv.includes('-h');
if (!wantsHelp && typeof process.getuid === 'function' && process.getuid() !== 0) {
  console.log('netns-lab failover benchmark: skipped, it needs root (it creates network namespaces).');
  process.exit(0);
}
const { runBenchCli } = await importSource('bench');
process.exit(await runBenchCli(process.argv.slice(2)));
