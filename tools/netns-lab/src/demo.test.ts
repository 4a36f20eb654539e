import { describe, expect, it } from 'vitest';
import { parseDemoArgs, UsageError } from './demo.js';
import { planLab } from './plan.js';
import type { ScenarioResult } from './scenario.js';
import { FAST_TIMING, SEED_TIMING, TimingError, validateLabTiming } from './settings.js';
import { formatSummary, meetsClaims } from './summary.js';

describe('parseDemoArgs', () => {
  it('defaults to an agent kill with fast timing, 3 gateways and 2 controllers', () => {
    expect(parseDemoArgs([])).toEqual({
      fault: 'agent-kill',
      outageSeconds: 60,
      timing: FAST_TIMING,
      detection: 'deadline',
      gateways: 3,
      controllers: 2,
      keep: false,
      build: true,
      images: false,
    });
    expect(parseDemoArgs(['--images'])?.images).toBe(true);
    expect(parseDemoArgs(['--peers', '--fault', 'apiserver-outage'])?.peers).toBe(true);
    expect(parseDemoArgs(['--fault', 'api-partition-all', '--outage', '20'])?.outageSeconds).toBe(20);
    expect(() => parseDemoArgs(['--outage', '0'])).toThrow(/--outage must be a positive number/);
  });

  it('takes the fault, timing, detection mode and --keep', () => {
    const o = parseDemoArgs([
      '--fault',
      'partition',
      '--eviction',
      '3',
      '--update',
      '1',
      '--detection',
      'poll',
      '--keep',
    ]);
    expect(o?.fault).toBe('partition');
    expect(o?.timing.eipEvictionTimeout).toBe(3);
    expect(o?.timing.tunnelUpdatePeriod).toBe(1);
    expect(o?.detection).toBe('poll');
    expect(o?.keep).toBe(true);
    expect(parseDemoArgs(['--seed-timing'])?.timing).toEqual(SEED_TIMING);
  });

  it('returns undefined for --help and rejects bad input with UsageError', () => {
    expect(parseDemoArgs(['--help'])).toBeUndefined();
    expect(() => parseDemoArgs(['--fault', 'meteor'])).toThrow(UsageError);
    expect(() => parseDemoArgs(['--eviction', '-1'])).toThrow(/eviction/);
    expect(() => parseDemoArgs(['--gateways', '1'])).toThrow(/gateways/);
    expect(() => parseDemoArgs(['--fault', 'leader-kill', '--controllers', '1'])).toThrow(/2 controllers/);
    expect(() => parseDemoArgs(['--bogus'])).toThrow();
  });
});

describe('validateLabTiming', () => {
  it('accepts the presets and rejects impossible settings', () => {
    expect(validateLabTiming(FAST_TIMING)).toBe(FAST_TIMING);
    expect(() => validateLabTiming({ ...FAST_TIMING, fenceMargin: 2 })).toThrow(TimingError);
    expect(() => validateLabTiming({ ...FAST_TIMING, renewDeadline: 5 })).toThrow(/leaseDuration/);
    expect(() => validateLabTiming({ ...FAST_TIMING, tunnelUpdatePeriod: 0 })).toThrow(/tunnelUpdatePeriod/);
  });
});

describe('summary', () => {
  const plan = planLab({ prefix: 'egl-t', gateways: 3, workers: 1 });
  const result: ScenarioResult = {
    fault: 'agent-kill',
    from: 'gw1',
    to: 'gw2',
    faultAt: 0,
    detectionMs: 2004,
    gaps: { u4: { from: 0, to: 2100, ms: 2100 }, u6: { from: 0, to: 2110, ms: 2110 } },
    sourcesBefore: [plan.eip4],
    sourcesAfter: [plan.eip4],
    duplicates: [],
    arpHandover: undefined,
    arpSilence: { from: 0, to: 2050, ms: 2050 },
    streamSurvived: true,
    streamBefore: ['198.18.0.50:4000'],
    streamAfter: ['198.18.0.50:4000'],
    oldStillBound: false,
    durationMs: 7000,
    phases: { probes: 500, baseline: 1000, move: 1000, settle: 1500, recovery: 3000 },
    holderAfterRecovery: 'gw2',
  };

  it('says what moved, the gaps, the sources, duplicates, the stream, recovery and settings', () => {
    const s = formatSummary(result, plan, FAST_TIMING, 'deadline');
    expect(s).toContain('gw1 -> gw2');
    expect(s).toContain('UDP IPv4 2100 ms');
    expect(s).toContain('within');
    expect(s).toContain('none seen');
    expect(s).toContain('survived (same connection 198.18.0.50:4000)');
    expect(s).toContain('no move-back');
    expect(s).toContain('let go of the EIP by itself');
    expect(formatSummary({ ...result, oldStillBound: true }, plan, FAST_TIMING, 'deadline')).toContain(
      'STILL HAD the EIP',
    );
    expect(s).toContain('eviction 2s');
  });

  it("judges a rolling update against its own bound (50 ms), not the eviction's", () => {
    const rolling = (ms: number) =>
      formatSummary(
        { ...result, fault: 'rolling-update', to: 'gw1', gaps: { u4: { from: 0, to: ms, ms } } },
        plan,
        FAST_TIMING,
        'deadline',
      );
    expect(rolling(30)).toContain('bound of a rolling update = 50 ms: within');
    expect(rolling(120)).toContain('bound of a rolling update = 50 ms: EXCEEDED');
    expect(formatSummary(result, plan, FAST_TIMING, 'deadline')).toContain('bound eviction + 1 s = 3000 ms');
  });

  it('meetsClaims lists every broken claim', () => {
    expect(meetsClaims(result, plan, 3000)).toEqual([]);
    const bad = {
      ...result,
      gaps: { u4: { from: 0, to: 5000, ms: 5000 } },
      sourcesAfter: ['198.19.1.2'],
      duplicates: [{ round: 3, t: 1, macs: ['a', 'b'] }],
    };
    expect(meetsClaims(bad, plan, 3000)).toHaveLength(3);
    expect(formatSummary(bad, plan, FAST_TIMING, 'deadline')).toContain('EXCEEDED');
  });
});
