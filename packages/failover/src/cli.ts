#!/usr/bin/env node
import { runCli } from './cli-main.js';

// The bin entry: everything testable lives in cli-main.ts.
process.exitCode = runCli(process.argv.slice(2), (text) => process.stdout.write(text));
