import { describe, expect, it } from 'vitest';
import { type BenchRow, benchTable, type Trial, toTrial } from './bench.js';
import type { ScenarioResult } from './scenario.js';

const trial = (failoverMs: number, over: Partial<Trial> = {}): Trial => ({
  failoverMs,
  detectionMs: 1000,
  reprogramMs: 40,
  duplicates: 0,
  unownedMs: 100,
  eipAfter: true,
  ...over,
});

describe('toTrial', () => {
  it('splits the failover into detection and reprogramming, and flags a wrong source afterwards', () => {
    const r = {
      fault: 'node-down',
      faultAt: 10_000,
      detectionMs: 1000,
      gaps: { u4: { from: 9990, to: 11_050, ms: 1060 } },
      sourcesAfter: ['198.19.1.2'],
      duplicates: [],
      arpHandover: undefined,
    } as unknown as ScenarioResult;
    expect(toTrial(r, '198.18.0.50')).toEqual({
      failoverMs: 1060,
      detectionMs: 1000,
      reprogramMs: 50,
      duplicates: 0,
      unownedMs: undefined,
      eipAfter: false,
    });
  });
});

describe('benchTable', () => {
  it('prints percentiles per row and the poll/deadline ratio of the same setting and fault', () => {
    const rows: BenchRow[] = [
      {
        setting: 'fast',
        mode: 'deadline',
        fault: 'node-down',
        trials: [trial(1000), trial(1100), trial(1200)],
      },
      { setting: 'fast', mode: 'poll', fault: 'node-down', trials: [trial(3000), trial(3300), trial(3600)] },
    ];
    const lines = benchTable(rows).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toContain('| fast | deadline | node-down | 3 | 1.10 / 1.20 / 1.20 |');
    expect(lines[3]).toContain('| 3.00x |');
    expect(lines[3]).toContain('| 3/3 |');
  });
});
