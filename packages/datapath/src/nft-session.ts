import { type ChildProcess, spawn } from 'node:child_process';
import { NftError } from './errors.js';
import { runNft } from './nft-runner.js';

/**
 * A table name no binder creates: `list table inet <it>` fails, and nft echoes the line (with the
 * request number) on stderr. That echo is the session's acknowledgement of every line before it.
 */
const ACK = 'egressgateway-ack-';

/** What {@link NftSession} needs. */
export interface NftSessionOptions {
  /** The nft program and any arguments before `-i` (tests: `['ip', 'netns', 'exec', ns, 'nft']`). Default `['nft']`. */
  readonly argv?: readonly string[];
  /** Scripts longer than this (joined into one line) go to a fresh `nft -f -` (default 8192). */
  readonly maxLineChars?: number;
  /** A transaction not acknowledged within this many ms stops the session (default 5000). */
  readonly timeoutMs?: number;
}

interface Pending {
  readonly id: number;
  resolve(): void;
  reject(e: Error): void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Flattens an nft script into one line of `;`-separated commands (nft applies one line of the
 * interactive mode as one transaction), or returns undefined when it cannot be: a line that opens a
 * block it does not close (`table inet t {` ... `}`), or a comment (`#` would swallow the rest).
 */
export function flattenNftScript(script: string): string | undefined {
  const lines = script
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  for (const l of lines) {
    if (l.includes('#')) return undefined;
    let depth = 0;
    for (const ch of l) {
      if (ch === '{') depth++;
      else if (ch === '}' && --depth < 0) return undefined;
    }
    if (depth !== 0) return undefined;
  }
  return lines.join('; ');
}

/**
 * What nft wrote on stderr for one transaction, given the session's stderr so far: `done` when
 * the acknowledgement of request `id` has arrived (with `error`, the transaction's own messages,
 * if nft reported any, and `rest`, the stderr after the acknowledgement).
 */
export function takeAcknowledged(
  stderr: string,
  id: number,
): { done: false } | { done: true; error: string | undefined; rest: string } {
  const echo = `list table inet ${ACK}${id}\n`;
  const at = stderr.startsWith(echo) ? 0 : stderr.indexOf(`\n${echo}`) + 1; // 0: not there (or first)
  if (at === 0 && !stderr.startsWith(echo)) return { done: false };
  const caretEnd = stderr.indexOf('\n', at + echo.length);
  if (caretEnd < 0) return { done: false }; // the acknowledgement's caret line is still coming
  // Before the echo: the transaction's messages, then the acknowledgement's own `Error:` line.
  const before = stderr.slice(0, at).split('\n');
  before.pop(); // '' after the last newline
  before.pop(); // the acknowledgement's `Error: No such file or directory`
  const own = before.join('\n').trim();
  return { done: true, error: /\bError\b/.test(own) ? own : undefined, rest: stderr.slice(caretEnd + 1) };
}

/**
 * Applies small nftables transactions through one long-lived `nft -i` process instead of one
 * `nft -f -` process per transaction. Starting nft costs a process spawn plus nft's own start (on
 * a 2-core node under load, 25-85 ms per run, measured); a line to a running nft costs a few ms.
 * That time is on the failover path: every lease renewal, peer withdraw, take-over and steering
 * change is one transaction.
 *
 * Each {@link run} sends the script as one line (one transaction: all of it or nothing, as with
 * `nft -f`) followed by a line that fails on purpose and whose echo on stderr marks the end of the
 * transaction's output. Scripts that cannot be one line (blocks, comments) or are long go to a
 * fresh `nft -f -`, as before. The process starts on first use with an acknowledgement alone; if
 * that fails (an nft built without the interactive mode), every script goes to `nft -f -`. A
 * session that crashes or stops answering is killed, its pending transactions fail (they may or
 * may not have been applied; callers re-read), and the next run starts a new one; after three
 * sessions in a row died without acknowledging anything, every script goes to `nft -f -`.
 *
 * @example
 * ```ts
 * const nft = new NftSession();
 * await nft.run('add element inet egressgateway live4 { 198.51.100.7 timeout 700ms }');
 * nft.close();
 * ```
 */
export class NftSession {
  private child: ChildProcess | undefined;
  private ready: Promise<boolean> | undefined;
  private disabled = false;
  /** Sessions in a row that died before acknowledging a transaction; at 3 the session is given up. */
  private deaths = 0;
  private nextId = 0;
  private stderr = '';
  private readonly pending: Pending[] = [];
  private readonly argv: readonly string[];

  constructor(private readonly o: NftSessionOptions = {}) {
    this.argv = o.argv ?? ['nft'];
  }

  /** True once the session fell back to one `nft -f -` per transaction for good. */
  get fallback(): boolean {
    return this.disabled;
  }

  /** Applies `script` in one transaction; throws {@link NftError} when nft rejects it. */
  async run(script: string): Promise<void> {
    const line = flattenNftScript(script);
    if (
      line === undefined ||
      line === '' ||
      line.length > (this.o.maxLineChars ?? 8192) ||
      this.disabled ||
      !(await this.start())
    ) {
      return this.spawnOnce(script);
    }
    return this.send(line);
  }

  /** Ends the nft process (pending transactions fail). */
  close(): void {
    this.stop(new NftError('nft session closed', ''));
    this.disabled = true;
  }

  /** One `nft -f -` process for `script` (the argv prefix included, as tests wrap nft). */
  private async spawnOnce(script: string): Promise<void> {
    const [cmd, ...pre] = this.argv;
    const r = await runNft([...pre, '-f', '-'], script, cmd);
    if (r.code !== 0) throw new NftError('nft -f - failed', r.stderr);
  }

  private start(): Promise<boolean> {
    if (this.ready !== undefined && this.child !== undefined) return this.ready;
    const [cmd, ...pre] = this.argv;
    const child = spawn(cmd as string, [...pre, '-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.stderr = '';
    child.stdout?.on('data', () => undefined); // prompts and listings: drained, not read
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString();
      this.drain();
    });
    child.stdin?.on('error', () => undefined); // a dead nft: reported by 'exit'
    child.on('error', (e) => this.died(child, new NftError(`cannot run ${cmd} -i`, e.message)));
    child.on('exit', (code) =>
      this.died(child, new NftError(`nft session exited (code ${code})`, this.stderr)),
    );
    // Neither the process nor its pipes keep the caller alive; a pending transaction's timer does.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr])
      (s as { unref?: () => void } | null)?.unref?.();
    this.ready = this.send('').then(
      () => true,
      () => {
        // nft without the interactive mode, or one that does not answer: use `nft -f -` for good.
        this.disabled = true;
        return false;
      },
    );
    return this.ready;
  }

  /** Sends one transaction line ('' = the acknowledgement alone) and waits for its acknowledgement. */
  private send(line: string): Promise<void> {
    const child = this.child;
    if (child?.stdin === null || child === undefined)
      return Promise.reject(new NftError('nft session not running', ''));
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stop(new NftError(`nft session did not answer in ${this.o.timeoutMs ?? 5000} ms`, this.stderr));
      }, this.o.timeoutMs ?? 5000);
      this.pending.push({ id, resolve, reject, timer });
      child.stdin?.write(`${line === '' ? '' : `${line}\n`}list table inet ${ACK}${id}\n`);
    });
  }

  /** Settles every transaction whose acknowledgement has arrived, in order. */
  private drain(): void {
    for (;;) {
      const head = this.pending[0];
      if (head === undefined) return;
      const r = takeAcknowledged(this.stderr, head.id);
      if (!r.done) return;
      this.stderr = r.rest;
      this.pending.shift();
      clearTimeout(head.timer);
      this.deaths = 0;
      if (r.error === undefined) head.resolve();
      else head.reject(new NftError('nft transaction failed', r.error));
    }
  }

  private died(child: ChildProcess, e: Error): void {
    if (this.child !== child) return;
    this.stop(e);
  }

  /** Kills the process and fails what is pending; the next run starts a new session. */
  private stop(e: Error): void {
    const child = this.child;
    this.child = undefined;
    this.ready = undefined;
    if (child !== undefined && ++this.deaths >= 3) this.disabled = true;
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }
}
