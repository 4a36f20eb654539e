#!/usr/bin/env -S node --lite-mode --no-expose-wasm --bytecode-old-age=1 --max-semi-space-size=2 --heap-growing-percent=50
// The V8 flags trade CPU for memory (README.md, Benchmark). --lite-mode: no JIT, bytecode only
// (about 18 MB less RSS; the agent's work is I/O and small recomputations) and no WebAssembly, so
// nothing here may use it (Node's global fetch does: the client is client-node's http stack);
// --no-expose-wasm says so and keeps V8 from warning about it at every start.
// --bytecode-old-age=1: bytecode not run since the last full GC is dropped (start-up code of the
// bundled libraries; recompiled from source if ever needed). Young-generation semi-spaces of 2 MB
// instead of up to 16 MB, and the old generation allowed to grow by 50 % over the live data between
// full collections instead of up to 4x. `env -S` (GNU coreutils >= 8.30) splits them; where env has
// no -S (busybox), run `node <the flags> dist/bin.js`.
import { runCli } from './main.js';

runCli().catch((err: unknown) => {
  console.error(`egw-agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
