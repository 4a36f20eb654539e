#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=50
// The V8 flags trade a little GC CPU for memory (measured in README.md, Benchmark): young-generation
// semi-spaces of 2 MB instead of up to 16 MB, and the old generation allowed to grow by 50 % over
// the live data between full collections instead of up to 4x. `env -S` (GNU coreutils >= 8.30)
// splits them; where env has no -S (busybox), run `node <the flags> dist/bin.js` instead.
import { runCli } from './main.js';

runCli().catch((err: unknown) => {
  console.error(`egw-controller: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
