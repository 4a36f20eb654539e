import type { EgressTunnel } from '@egressgateway/crds';
import { describe, expect, it } from 'vitest';
import { isHeartbeatOnlyChange } from './heartbeats.js';

const t = (
  status: NonNullable<EgressTunnel['status']>,
  annotations?: Record<string, string>,
): EgressTunnel => ({
  metadata: { name: 'n1', resourceVersion: String(Math.random()), ...(annotations ? { annotations } : {}) },
  spec: {},
  status,
});

describe('isHeartbeatOnlyChange', () => {
  it('is true when only the heartbeat (and resourceVersion) moved', () => {
    expect(
      isHeartbeatOnlyChange(
        t({ phase: 'Ready', lastHeartbeatTime: 'a' }),
        t({ phase: 'Ready', lastHeartbeatTime: 'b' }),
      ),
    ).toBe(true);
  });
  it('is false for a phase, allocation or annotation change', () => {
    expect(isHeartbeatOnlyChange(t({ phase: 'Ready' }), t({ phase: 'HeartbeatTimeout' }))).toBe(false);
    expect(isHeartbeatOnlyChange(t({ mark: '0x26000001' }), t({ mark: '0x26000002' }))).toBe(false);
    expect(isHeartbeatOnlyChange(t({}), t({}, { 'egressgateway.spidernet.io/draining': 'x' }))).toBe(false);
  });
});
