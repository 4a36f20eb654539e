#!/usr/bin/env node
import { CommanderError } from 'commander';
import { runCli } from './cli.js';

// The executable: everything testable lives in cli.ts.
runCli(process.argv).then(
  (server) => {
    const stop = (): void => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  (err: unknown) => {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    console.error(`egw-apiserver: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
