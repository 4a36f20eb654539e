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
});
