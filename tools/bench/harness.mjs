// Pieces every app benchmark needs: child processes that never outlive a failed run, a small
// request/reply protocol over IPC, keep-alive HTTP to the API server, and number formatting.
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';

/** Logs to stderr with a timestamp when EGW_BENCH_DEBUG is set. */
export const debug = process.env.EGW_BENCH_DEBUG
  ? (...a) => console.error(new Date().toISOString(), ...a)
  : () => {};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const mb = (bytes) => bytes / 1024 / 1024;
export const fmt = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

// Children started by this run; on any failure of the driver they are killed so nothing is left
// behind (installed with the first child, so a child importing this module is not affected).
const children = new Set();
const fail = (err) => {
  console.error(`benchmark failed: ${err?.stack ?? err}`);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
};
function killChildrenOnFailure() {
  if (process.listeners('uncaughtException').includes(fail)) return;
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

/**
 * Forks `file` (absolute path) with an IPC channel and resolves with its first message. `ask(msg)`
 * sends `{ ...msg, id }` and resolves with the child's `{ id, result }` (see {@link serveParent}).
 */
export function forkChild(file, execArgv = []) {
  killChildrenOnFailure();
  const child = fork(file, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let id = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m?.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m.result);
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.values()) w.reject(new Error(`${file} exited (${code ?? signal})`));
    waiting.clear();
  });
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      const mid = ++id;
      waiting.set(mid, { resolve, reject });
      child.send({ ...msg, id: mid });
    });
  return new Promise((resolve) => child.once('message', (first) => resolve({ child, ask, first })));
}

/** Sends a plain message and resolves with the next message (the API server child's `usage`). */
export function askOnce(child, msg) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(msg);
  });
}

/** Asks a child to stop and waits for it to exit (SIGKILL after 5 s). */
export function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.send('stop');
  });
}

/** Child side of {@link forkChild}: answers `{ id, ... }` with `handle`'s result, exits on 'stop'. */
export function serveParent(handle) {
  process.on('message', (m) => {
    if (m === 'stop') process.exit(0);
    handle(m).then(
      (result) => process.send({ id: m.id, result }),
      (err) => process.send({ id: m.id, error: String(err?.stack ?? err) }),
    );
  });
  process.send({ ready: true });
}

/** JSON over keep-alive HTTP to the API server; errors carry `status`. */
export class ApiCaller {
  constructor(maxSockets) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  call(base, method, path, body, type = 'application/json') {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${base}${path}`,
        { method, agent: this.agent, headers: { 'Content-Type': type, Accept: 'application/json' } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode >= 400) {
              const err = new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
              err.status = res.statusCode;
              reject(err);
            } else resolve(text ? JSON.parse(text) : undefined);
          });
        },
      );
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  destroy() {
    this.agent.destroy();
  }
}
