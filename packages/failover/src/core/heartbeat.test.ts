import { describe, expect, it } from 'vitest';
import { assessHeartbeats } from './heartbeat.js';

describe('assessHeartbeats', () => {
  const opts = { evictionTimeoutMs: 3_000 };
  it('is fresh up to and including observedAt + timeout, expired one ms later', () => {
    const at = (now: number) => assessHeartbeats([{ id: 'a', observedAt: 1_000 }], opts, now);
    expect(at(4_000).health.get('a')).toMatchObject({ healthy: true, heartbeat: 'fresh', freshUntil: 4_000 });
    expect(at(4_000).nextChangeAt).toBe(4_001);
    expect(at(4_001).health.get('a')).toMatchObject({
      healthy: false,
      heartbeat: 'expired',
      reason: 'HeartbeatTimeout',
    });
    expect(at(4_001).nextChangeAt).toBeNull();
  });

  it('ranks reasons: missing heartbeat, timeout, not ready, draining', () => {
    const { health, nextChangeAt } = assessHeartbeats(
      [
        { id: 'missing', observedAt: null },
        { id: 'old', observedAt: 0, ready: false },
        { id: 'notready', observedAt: 9_000, ready: false, draining: true },
        { id: 'draining', observedAt: 8_000, draining: true },
        { id: 'ok', observedAt: 7_500 },
      ],
      opts,
      10_000,
    );
    expect([...health.values()].map((h) => [h.id, h.reason, h.healthy])).toEqual([
      ['missing', 'NoHeartbeat', false],
      ['old', 'HeartbeatTimeout', false],
      ['notready', 'NotReady', false],
      ['draining', 'Draining', false],
      ['ok', 'Fresh', true],
    ]);
    // The earliest fresh deadline, including unhealthy-but-fresh members (their phase still changes).
    expect(nextChangeAt).toBe(10_501);
  });

  it('rounds fractional deadlines up to the next whole millisecond after them', () => {
    expect(assessHeartbeats([{ id: 'a', observedAt: 0.5 }], opts, 0).nextChangeAt).toBe(3_001);
  });
});
