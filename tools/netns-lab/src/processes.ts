import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A process the lab started inside a namespace (`ip netns exec` execs, so the pid is the real one). */
export interface LabProcess {
  readonly name: string;
  readonly ns: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** True until the process exited. */
  alive(): boolean;
}

/** How to start a process. */
export interface StartOptions {
  name: string;
  ns: string;
  command: string;
  args: string[];
  /** Called with every stdout line (the process's stdout is then a pipe, stderr goes to the log). */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts and tracks every process of a lab. Output goes to `<runDir>/<name>.log` (appended on
 * restarts), so one run folder holds the logs of every process.
 */
export class ProcessSet {
  private readonly all = new Set<LabProcess>();

  constructor(private readonly runDir: string) {}

  /** Starts a process inside a namespace. */
  start(o: StartOptions): LabProcess {
    const log = openSync(join(this.runDir, `${o.name}.log`), 'a');
    const child = spawn('ip', ['netns', 'exec', o.ns, o.command, ...o.args], {
      stdio: ['ignore', o.onLine ? 'pipe' : log, log],
      env: o.env ?? process.env,
    });
    closeSync(log);
    if (o.onLine && child.stdout) {
      // Records are kept in the run folder too, for reading after the run.
      const copy = createWriteStream(join(this.runDir, `${o.name}.out`), { flags: 'a' });
      const onLine = o.onLine;
      const rl = createInterface({ input: child.stdout });
      rl.on('line', (l) => {
        copy.write(`${l}\n`);
        onLine(l);
      });
      rl.on('close', () => copy.end());
    }
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        this.all.delete(proc);
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', () => {
        done = true;
        this.all.delete(proc);
        resolve('spawn-error');
      });
    });
    const proc: LabProcess = {
      name: o.name,
      ns: o.ns,
      child,
      pid: child.pid ?? -1,
      exited,
      alive: () => !done,
    };
    this.all.add(proc);
    return proc;
  }

  /** Sends a signal; true when it was delivered. */
  signal(p: LabProcess, sig: NodeJS.Signals): boolean {
    if (!p.alive()) return false;
    try {
      process.kill(p.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(p: LabProcess, graceMs = 5000): Promise<number | string> {
    if (!p.alive()) return p.exited;
    this.signal(p, 'SIGCONT');
    this.signal(p, 'SIGTERM');
    const timer = setTimeout(() => this.signal(p, 'SIGKILL'), graceMs);
    const r = await p.exited;
    clearTimeout(timer);
    return r;
  }

  /** Kills every tracked process at once (synchronous, safe in an `exit` handler). */
  killAll(): void {
    for (const p of this.all) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Processes still running. */
  running(): LabProcess[] {
    return [...this.all];
  }
}
