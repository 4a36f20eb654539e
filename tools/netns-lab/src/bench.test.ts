import { describe, expect, it } from 'vitest';
import { type BenchRow, benchTable, phaseText, type Trial, toTrial, trialTimeTable } from './bench.js';
import type { ScenarioResult } from './scenario.js';

const trial = (failoverMs: number, over: Partial<Trial> = {}): Trial => ({
  failoverMs,
  detectionMs: 1000,
  reprogramMs: 40,
  duplicates: 0,
  unownedMs: 100,
  eipAfter: true,
  oldStillBound: false,
  durationMs: 7000,
  phases: { probes: 500, baseline: 1000, move: 1000, settle: 1500, recovery: 3000 },
  stayed: true,
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
      oldStillBound: true,
      durationMs: 6500,
      phases: { probes: 500, baseline: 1000, move: 1000, settle: 1500, recovery: 2500 },
      to: 'gw2',
      holderAfterRecovery: 'gw1',
    } as unknown as ScenarioResult;
    expect(toTrial(r, '198.18.0.50')).toEqual({
      failoverMs: 1060,
      detectionMs: 1000,
      reprogramMs: 50,
      duplicates: 0,
      unownedMs: undefined,
      eipAfter: false,
      oldStillBound: true,
      durationMs: 6500,
      phases: { probes: 500, baseline: 1000, move: 1000, settle: 1500, recovery: 2500 },
      stayed: false,
    });
  });
});

describe('toTrial when the EIP stays', () => {
  it('reports the longest ARP silence after the fault as the time the EIP was unowned', () => {
    const r = {
      fault: 'majority-down',
      faultAt: 10_000,
      detectionMs: undefined,
      gaps: { u4: { from: 9990, to: 10_010, ms: 20 } },
      sourcesAfter: ['198.18.0.50'],
      duplicates: [],
      arpHandover: undefined,
      arpSilence: { from: 10_100, to: 11_800, ms: 1700 },
      oldStillBound: undefined,
      durationMs: 9000,
      phases: { probes: 500, baseline: 1000, move: 3000, settle: 1500, recovery: 3000 },
      from: 'gw1',
      to: 'gw1',
      holderAfterRecovery: 'gw1',
    } as unknown as ScenarioResult;
    expect(toTrial(r, '198.18.0.50').unownedMs).toBe(1700);
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

  it('counts trials whose old holder let go by itself, and those without a move-back', () => {
    const rows: BenchRow[] = [
      {
        setting: 'keepalived advert 1s',
        mode: 'VRRPv3',
        fault: 'agent-kill',
        trials: [
          trial(300, { oldStillBound: true, duplicates: 70, durationMs: 11_000, stayed: false }),
          trial(280, { oldStillBound: true, duplicates: 75, durationMs: 12_000 }),
          trial(290, { oldStillBound: false, durationMs: 13_000 }),
        ],
      },
      {
        setting: 'fast',
        mode: 'deadline',
        fault: 'apiserver-restart',
        trials: [trial(20, { oldStillBound: undefined, stayed: undefined })],
      },
    ];
    const [, , ka, api] = benchTable(rows).split('\n');
    // duplicates 145 | let go 1/3 | no move-back 2/3 | EIP after 3/3 | no ratio
    expect(ka).toMatch(/\| 145 \| 1\/3 \| 2\/3 \| 3\/3 \| {2}\|$/);
    expect(api).toMatch(/\| n\/a \| n\/a \| 1\/1 \| {2}\|$/);
  });

  it('trialTimeTable gives the median trial length and phase of each row', () => {
    const ph = (move: number, settle: number, recovery: number) => ({
      probes: 500,
      baseline: 1000,
      move,
      settle,
      recovery,
    });
    const rows: BenchRow[] = [
      {
        setting: 'seed',
        mode: 'poll',
        fault: 'node-down',
        trials: [
          trial(1, { durationMs: 18_000, phases: ph(9000, 1600, 7000) }),
          trial(1, { durationMs: 20_000, phases: ph(11_000, 1500, 7100) }),
          trial(1, { durationMs: 19_000, phases: ph(10_000, 1700, 7200) }),
        ],
      },
    ];
    const lines = trialTimeTable(rows).split('\n');
    expect(lines[0]).toContain(
      '| trial p50 / max (s) | probes p50 | baseline p50 | move p50 | settle p50 | recovery p50 |',
    );
    expect(lines[2]).toBe(
      '| seed | poll | node-down | 3 | 19.00 / 20.00 | 0.50 | 1.00 | 10.00 | 1.60 | 7.10 |',
    );
  });

  it('phaseText lists the phases in seconds', () => {
    expect(phaseText({ probes: 520, baseline: 1000, move: 910, settle: 1530, recovery: 3010 })).toBe(
      'probes 0.52 + baseline 1.00 + move 0.91 + settle 1.53 + recovery 3.01',
    );
  });
});
