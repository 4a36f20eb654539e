import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type ContainerSpec, podmanRunArgs, removeContainers, signalContainer } from './containers.js';

/** A process the lab started inside a namespace (`ip netns exec` execs, so the pid is the real one). */
export interface LabProcess {
  readonly name: string;
  readonly ns: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Container name when the process is `podman run` of a lab container (images mode). */
  readonly container?: string;
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

/** How to start a container (images mode): `podman run` in the foreground from the host. */
export interface ContainerStartOptions {
  name: string;
  container: ContainerSpec;
  onLine?: (line: string) => void;
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
    return this.spawnTracked(o.name, o.ns, 'ip', ['netns', 'exec', o.ns, o.command, ...o.args], o);
  }

  /**
   * Starts a lab container (podman joins it to its namespace; podman itself runs in the host's).
   * Signals go to the container's process through `podman kill`, and {@link killAll} removes it.
   */
  startContainer(o: ContainerStartOptions): LabProcess {
    const args = podmanRunArgs(o.container);
    // A container of the same name that is still being removed would make podman refuse the name.
    removeContainers([o.container.name]);
    return this.spawnTracked(o.name, o.container.netns, 'podman', args, o, o.container.name);
  }

  private spawnTracked(
    name: string,
    ns: string,
    cmd: string,
    args: string[],
    o: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv },
    container?: string,
  ): LabProcess {
    const log = openSync(join(this.runDir, `${name}.log`), 'a');
    const child = spawn(cmd, args, {
      stdio: ['ignore', o.onLine ? 'pipe' : log, log],
      env: o.env ?? process.env,
    });
    closeSync(log);
    if (o.onLine && child.stdout) {
      // Records are kept in the run folder too, for reading after the run.
      const copy = createWriteStream(join(this.runDir, `${name}.out`), { flags: 'a' });
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
      name,
      ns,
      child,
      pid: child.pid ?? -1,
      ...(container !== undefined ? { container } : {}),
      exited,
      alive: () => !done,
    };
    this.all.add(proc);
    return proc;
  }

  /** Sends a signal; true when it was delivered. */
  signal(p: LabProcess, sig: NodeJS.Signals): boolean {
    if (!p.alive()) return false;
    if (p.container !== undefined) return signalContainer(p.container, sig);
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
    removeContainers([...this.all].flatMap((p) => (p.container !== undefined ? [p.container] : [])));
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
