import { APP_CONFIG_KEYS, resolveConfig } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './main.js';
import { CONTROLLER_OPTIONS, timingWarnings } from './settings.js';

describe('controller settings', () => {
  it('lists every config-file key in the keys both apps accept from their shared ConfigMap', () => {
    const keys = Object.values(CONTROLLER_OPTIONS).map((o) => o.key);
    expect(keys.filter((k) => !APP_CONFIG_KEYS.includes(k))).toEqual([]);
  });

  it('defaults to update 1 s, eviction 3 s, monitor 5 s with deadline detection, and no warnings', () => {
    const s = resolveConfig(CONTROLLER_OPTIONS, {});
    expect([s.tunnelUpdatePeriodMs, s.eipEvictionTimeoutMs, s.tunnelMonitorPeriodMs, s.detection]).toEqual([
      1000,
      3000,
      5000,
      'deadline',
    ]);
    expect(timingWarnings(s)).toEqual([]);
  });

  it("warns about the seed's 5/5/5 with the numbers, and the upstream rule in poll mode", () => {
    const s = resolveConfig(CONTROLLER_OPTIONS, {
      file: { tunnelMonitorPeriod: 5, tunnelUpdatePeriod: 5, eipEvictionTimeout: 5, detection: 'poll' },
    });
    const w = timingWarnings(s);
    expect(w.map((x) => x.code)).toContain('EvictionNotAboveUpdate');
    expect(w.map((x) => x.code)).toContain('EvictionNotAboveMonitorPlusUpdate');
    expect(w.find((x) => x.code === 'EvictionNotAboveUpdate')?.message).toContain('eipEvictionTimeout (5s)');
  });

  it('reads Helm value names from flags and env, fractional seconds allowed', () => {
    const flags = buildProgram()
      .exitOverride()
      .parse(['--eip-eviction-timeout', '1.5', '--tunnel-update-period', '0.25'], { from: 'user' })
      .opts();
    const s = resolveConfig(CONTROLLER_OPTIONS, { flags, env: { EGW_TUNNEL_MONITOR_PERIOD: '2' } });
    expect([s.eipEvictionTimeoutMs, s.tunnelUpdatePeriodMs, s.tunnelMonitorPeriodMs]).toEqual([
      1500, 250, 2000,
    ]);
  });
});
