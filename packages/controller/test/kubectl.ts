import { spawn } from 'node:child_process';

/** What a kubectl run printed (stdout and stderr together) and its exit code. */
export interface KubectlRun {
  code: number | null;
  out: string;
}

/** Runs kubectl against `kubeconfig` (argument array, `stdin` as input; killed after 60 s). */
export function kubectl(kubeconfig: string, args: string[], stdin = ''): Promise<KubectlRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(stdin);
  });
}
