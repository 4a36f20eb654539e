import { APP_CONFIG_KEYS, resolveConfig } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { AGENT_OPTIONS } from './settings.js';

describe('agent settings', () => {
  it('lists every config-file key in the keys both apps accept from their shared ConfigMap', () => {
    const keys = Object.values(AGENT_OPTIONS).map((o) => o.key);
    expect(keys.filter((k) => !APP_CONFIG_KEYS.includes(k))).toEqual([]);
  });

  it("reads a shared file that also holds the controller's keys, and still refuses unknown ones", () => {
    const file = { fenceMargin: 0.25, leaderElectionLeaseDuration: 15, tunnelUpdatePeriod: 0.5 };
    const s = resolveConfig(AGENT_OPTIONS, { file, otherAppsKeys: APP_CONFIG_KEYS });
    expect(s.fenceMarginMs).toBe(250);
    expect(s.tunnelUpdatePeriodMs).toBe(500);
    expect(() =>
      resolveConfig(AGENT_OPTIONS, { file: { fenceMargn: 1 }, otherAppsKeys: APP_CONFIG_KEYS }),
    ).toThrow('fenceMargn');
  });
});
