import { spawnSync } from 'node:child_process';

/** A command that failed, with its arguments and stderr. */
export class CommandError extends Error {
  readonly code = 'EGW_LAB_COMMAND';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${command} ${args.join(' ')} -> exit ${status}: ${stderr.trim()}`);
  }
}

/** Result of a command run with {@link tryRun}. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from an argument array (never a shell); returns its output without throwing. */
export function tryRun(cmd: string, args: readonly string[], input?: string, timeoutMs = 20_000): RunResult {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', input: input ?? '', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** Runs a command from an argument array; throws {@link CommandError} on a non-zero exit. */
export function run(cmd: string, args: readonly string[], input?: string, timeoutMs = 20_000): string {
  const r = tryRun(cmd, args, input, timeoutMs);
  if (r.status !== 0) throw new CommandError(cmd, args, r.status, r.stderr);
  return r.stdout;
}

/** `ip -n <ns> ...` */
export function ipn(ns: string, ...args: string[]): string {
  return run('ip', ['-n', ns, ...args]);
}

/** Runs a command inside a namespace (`ip netns exec`). */
export function nsExec(ns: string, cmd: string, args: readonly string[], input?: string): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

/** Sets a sysctl inside a namespace. */
export function sysctl(ns: string, key: string, value: string): void {
  nsExec(ns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
}

/** Sleeps for `ms` (orchestration only; decision code never sleeps). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
