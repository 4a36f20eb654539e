#!/usr/bin/env node
import { runCli } from './main.js';

runCli().catch((err: unknown) => {
  console.error(`egw-controller: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
