import { describe, expect, it } from 'vitest';
import { runCli } from './cli-main.js';

function run(argv: string[]) {
  let out = '';
  const code = runCli(argv, (t) => {
    out += t;
  });
  return { code, out };
}

describe('egw-failover CLI', () => {
  it('simulate prints a table with percentiles and the false-eviction rate', () => {
    const { code, out } = run([
      'simulate',
      '--update',
      '5',
      '--monitor',
      '5',
      '--eviction',
      '5',
      '--mode',
      'poll',
      '--trials',
      '20',
    ]);
    expect(code).toBe(0);
    expect(out).toContain('| settings');
    expect(out).toContain('5/5/5 poll');
    expect(out).toMatch(/failover p99/);
    expect(out).toContain('EvictionNotAboveUpdate');
  });

  it('--json prints machine-readable results', () => {
    const { code, out } = run(['simulate', '--trials', '10', '--json']);
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as {
      results: Array<{ summary: { trials: number; failover: { max: number } } }>;
    };
    expect(parsed.results[0]?.summary.trials).toBe(10);
    expect(parsed.results[0]?.summary.failover.max).toBeGreaterThan(0);
  });

  it('tuning compares the seed settings with the recommended ones', () => {
    const { code, out } = run(['tuning', '--trials', '10']);
    expect(code).toBe(0);
    for (const label of ['seed 5/5/5 poll', 'upstream 5/15/5 poll', 'recommended 1/3/5 deadline'])
      expect(out).toContain(label);
  });

  it('rejects bad arguments with exit code 2 and the usage', () => {
    expect(run(['simulate', '--mode', 'sometimes']).code).toBe(2);
    expect(run(['simulate', '--bogus']).code).toBe(2);
    expect(run(['simulate', '--trials', '-1']).code).toBe(2);
    expect(run(['frobnicate']).out).toContain('usage:');
  });

  it('trials that never failed over are a column of the table, as in --json', () => {
    const args = ['simulate', '--loss', '0.9', '--trials', '30'];
    const json = JSON.parse(run([...args, '--json']).out) as {
      results: Array<{ summary: { notFailedOver: number } }>;
    };
    const missed = json.results[0]?.summary.notFailedOver ?? 0;
    expect(missed).toBeGreaterThan(0);
    const { code, out } = run(args);
    expect(code).toBe(0);
    const [header, , row] = out.split('\n').filter((l) => l.startsWith('|'));
    const cells = (l: string | undefined) => (l ?? '').split('|').map((c) => c.trim());
    const column = cells(header).indexOf('no failover');
    expect(column).toBeGreaterThan(0);
    expect(cells(row)[column]).toBe(`${missed} of 30`);
  });

  it('refuses --loss outside [0, 1), --trials 0 and other out-of-range counts, naming the flag', () => {
    for (const [flag, value] of [
      ['--loss', '2'],
      ['--loss', '1'],
      ['--loss', '-0.1'],
      ['--trials', '0'],
      ['--trials', '1.5'],
      ['--nodes', '0'],
      ['--jitter', 'NaN'],
    ] as const) {
      const { code, out } = run(['simulate', `${flag}=${value}`]);
      expect(code, `${flag} ${value}`).toBe(2);
      expect(out, `${flag} ${value}`).toMatch(new RegExp(`^error: ${flag}`));
    }
    expect(run(['simulate', '--loss', '2']).out).toContain('[0, 1)');
  });

  it('--help and -h at the top level print the help and exit 0', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['simulate', '--help']]) {
      const { code, out } = run(argv);
      expect(code, argv.join(' ')).toBe(0);
      expect(out).toContain('usage:');
      expect(out).not.toContain('error:');
    }
    expect(run([]).code).toBe(2);
  });

  it('the table comes with a legend of its columns', () => {
    const { out } = run(['simulate', '--trials', '5']);
    const legend = out.slice(out.indexOf('columns:'));
    for (const column of ['detect', 'failover', 'no failover', 'false evictions', 'dup owner'])
      expect(legend).toContain(`${column}:`);
  });
});
