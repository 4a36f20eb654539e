import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Announcer } from './announcer.js';

// Stand-ins for arping/ndisc6/perl: record their arguments, print a canned answer, exit with a
// given code. They show which programs the announcer runs, with which argument arrays, and how it
// reads their results, without root or a network.
const dir = mkdtempSync(join(tmpdir(), 'egwdp-announcer-'));
function fakeTool(name: string, stdout: string, code: number): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!${process.execPath}\nrequire('node:fs').appendFileSync(${JSON.stringify(`${path}.args`)}, JSON.stringify(process.argv.slice(2)) + '\\n');\nprocess.stdout.write(${JSON.stringify(stdout)});\nprocess.exit(${code});\n`,
  );
  chmodSync(path, 0o755);
  return path;
}
const calls = (path: string): string[][] =>
  readFileSync(`${path}.args`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
const waitForFile = async (path: string): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    try {
      readFileSync(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Announcer', () => {
  it('reports an IPv4 conflict when arping -D exits 1, with the MAC it printed', async () => {
    const arping = fakeTool('arping-dup', 'Unicast reply from 198.18.0.50 [02:00:00:00:00:99]  0.6ms\n', 1);
    const a = new Announcer({ arping, perl: 'perl', ndisc6: 'ndisc6' });
    const c = await a.probe('198.18.0.50', 'eth0', '02:00:00:00:00:11');
    expect(c).toEqual({ address: '198.18.0.50', interface: 'eth0', otherMac: '02:00:00:00:00:99' });
    expect(calls(arping)).toEqual([['-D', '-c', '1', '-w', '1', '-I', 'eth0', '198.18.0.50']]);
    a.close();
  });

  it('reports no IPv4 conflict when arping -D exits 0', async () => {
    const arping = fakeTool('arping-free', '', 0);
    const a = new Announcer({ arping, perl: 'perl', ndisc6: 'ndisc6' });
    expect(await a.probe('198.18.0.51', 'eth0', '02:00:00:00:00:11')).toBeNull();
    a.close();
  });

  it('reports an IPv6 conflict only when another MAC answers the solicitation', async () => {
    const other = fakeTool('ndisc6-other', '02:00:00:00:00:99\n', 0);
    const own = fakeTool('ndisc6-own', '02:00:00:00:00:11\n', 0);
    const none = fakeTool('ndisc6-none', '', 2);
    const probe = (ndisc6: string) =>
      new Announcer({ arping: 'arping', perl: 'perl', ndisc6 }).probe(
        'fd00:18::50',
        'eth0',
        '02:00:00:00:00:11',
        300,
      );
    expect((await probe(other))?.otherMac).toBe('02:00:00:00:00:99');
    expect(await probe(own)).toBeNull();
    expect(await probe(none)).toBeNull();
    expect(calls(other)).toEqual([['-1', '-n', '-q', '-r', '1', '-w', '300', 'fd00:18::50', 'eth0']]);
  });

  it('announces IPv4 with arping -U and IPv6 with the perl NA program, as argument arrays', async () => {
    const arping = fakeTool('arping-u', '', 0);
    const perl = fakeTool('perl-na', '', 0);
    const a = new Announcer({ arping, perl, ndisc6: 'ndisc6' });
    expect(a.announce('198.18.0.50', 'eth0', 3, '02:00:00:00:00:11', 2, 0).via).toBe('arping');
    expect(a.announce('fd00:18::50', 'eth0', 3, '02:00:00:00:00:11', 2, 0).via).toBe('perl-na');
    await waitForFile(`${arping}.args`);
    await waitForFile(`${perl}.args`);
    expect(calls(arping)).toEqual([['-U', '-c', '2', '-I', 'eth0', '198.18.0.50']]);
    const [args] = calls(perl);
    expect(args?.[0]).toBe('-e');
    expect(args?.slice(2)).toEqual(['3', 'fd00:18::50', '02:00:00:00:00:11', '2', '100']);
    a.close();
  });

  it('repeats the announcement once after repeatAfterMs (virtual time), and close() cancels a pending repeat', async () => {
    const arping = fakeTool('arping-repeat', '', 0);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const a = new Announcer({ arping, perl: 'perl', ndisc6: 'ndisc6' });
      a.announce('198.18.0.50', 'eth0', 3, '02:00:00:00:00:11', 2, 3000);
      vi.advanceTimersByTime(2999);
      vi.advanceTimersByTime(1);
      const b = new Announcer({ arping, perl: 'perl', ndisc6: 'ndisc6' });
      b.announce('198.18.0.60', 'eth0', 3, '02:00:00:00:00:11', 2, 3000);
      b.close();
      vi.advanceTimersByTime(5000);
      vi.useRealTimers();
      for (let i = 0; i < 100 && calls2(arping).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      const got = calls2(arping).map((c) => `${c[2]} ${c[5]}`);
      // The first burst (count 2) and one repeat (count 1) for .50; no repeat for .60 after close().
      expect(got.filter((g) => g.endsWith('198.18.0.50')).sort()).toEqual(['1 198.18.0.50', '2 198.18.0.50']);
      expect(got).not.toContain('1 198.18.0.60');
      a.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

function calls2(path: string): string[][] {
  try {
    return calls(path);
  } catch {
    return [];
  }
}
