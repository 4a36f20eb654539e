import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NftError } from '../src/errors.js';
import { NftSession } from '../src/nft-session.js';
import { isRoot, Lab, run, skipReason } from './lab.js';

if (!isRoot) console.warn(skipReason);

describe.skipIf(!isRoot)('NftSession: transactions through one long-lived nft -i', () => {
  const lab = new Lab();
  let ns: string;
  let dir: string;
  const sessions: NftSession[] = [];
  const session = (argv?: string[]): NftSession => {
    const s = new NftSession({ argv: argv ?? ['ip', 'netns', 'exec', ns, 'nft'], timeoutMs: 3000 });
    sessions.push(s);
    return s;
  };
  const elements = (set: string): string => lab.exec(ns, 'nft', ['list', 'set', 'inet', 't', set]);

  beforeAll(() => {
    ns = lab.ns('s');
    lab.exec(
      ns,
      'nft',
      ['-f', '-'],
      'table inet t {\n set g { type mark; }\n set s { type ipv4_addr; flags timeout; }\n}\n',
    );
    dir = mkdtempSync(join(tmpdir(), 'egw-nft-session-'));
  });
  afterAll(() => {
    for (const s of sessions) s.close();
    lab.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies a script as one transaction, and a failing one changes nothing and says why', async () => {
    const s = session();
    await s.run('add element inet t g { 0x1 }\nadd element inet t s { 198.18.0.1 timeout 30s }\n');
    expect(elements('g')).toContain('0x00000001');
    expect(elements('s')).toContain('198.18.0.1');
    const bad = s.run('add element inet t s { 198.18.0.2 timeout 30s }\ndelete element inet t g { 0x5 }\n');
    await expect(bad).rejects.toThrow(NftError);
    await expect(bad).rejects.toThrow(/0x5/);
    expect(elements('s')).not.toContain('198.18.0.2');
    expect(s.fallback).toBe(false);
  });

  it('settles concurrent transactions in order, each with its own result', async () => {
    const s = session();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        s.run(
          i % 5 === 4
            ? `delete element inet t g { 0x${(1000 + i).toString(16)} }`
            : `add element inet t g { ${100 + i} }`,
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 5 === 4 ? 'rejected' : 'fulfilled')),
    );
    const g = elements('g');
    for (let i = 0; i < 20; i++) if (i % 5 !== 4) expect(g).toContain(`0x000000${(100 + i).toString(16)}`);
  });

  it('follows a table rebuilt by another process between transactions', async () => {
    const s = session();
    await s.run('add element inet t g { 0x2 }');
    lab.exec(
      ns,
      'nft',
      ['-f', '-'],
      'delete table inet t\ntable inet t {\n set g { type mark; }\n set s { type ipv4_addr; flags timeout; }\n}\n',
    );
    await s.run('add element inet t g { 0x3 }');
    expect(elements('g')).toContain('0x00000003');
    expect(elements('g')).not.toContain('0x00000002');
  });

  it('sends blocks and long scripts to nft -f, as before', async () => {
    const s = session();
    await s.run('table inet t2 {\n  set x { type mark; }\n}\n');
    const many = Array.from({ length: 1500 }, (_, i) => `198.19.${i >> 8}.${i & 255}`).join(', ');
    await s.run(`add element inet t s { ${many} }`);
    expect(lab.exec(ns, 'nft', ['list', 'tables'])).toContain('table inet t2');
    expect(elements('s')).toContain('198.19.5.219');
  });

  it('starts a new nft after the old one was killed; pending transactions fail, later ones work', async () => {
    const s = session();
    await s.run('add element inet t g { 0x10 }');
    // Kill every nft of this namespace (the other tests' sessions too: each recovers on its next run).
    const pids = run('ip', ['netns', 'pids', ns])
      .split('\n')
      .filter((x) => x !== '');
    const nfts = pids.filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nft');
    expect(nfts.length).toBeGreaterThan(0);
    for (const pid of nfts) process.kill(Number(pid), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    await s.run('add element inet t g { 0x11 }');
    expect(elements('g')).toContain('0x00000011');
    expect(s.fallback).toBe(false);
  });

  it('falls back to nft -f for good when nft has no interactive mode', async () => {
    // A stand-in for an nft built without readline/libedit: refuses -i, passes the rest on.
    const fake = join(dir, 'nft-no-i');
    writeFileSync(
      fake,
      '#!/bin/sh\nif [ "$1" = "-i" ]; then echo "Error: interactive CLI not supported in this build" >&2; exit 1; fi\nexec nft "$@"\n',
    );
    chmodSync(fake, 0o755);
    const s = session(['ip', 'netns', 'exec', ns, fake]);
    await s.run('add element inet t g { 0x20 }');
    expect(s.fallback).toBe(true);
    await expect(s.run('delete element inet t g { 0x21 }')).rejects.toThrow(NftError);
    await s.run('add element inet t g { 0x22 }');
    expect(elements('g')).toMatch(/0x00000020[\s\S]*0x00000022|0x00000022[\s\S]*0x00000020/);
  });
});
