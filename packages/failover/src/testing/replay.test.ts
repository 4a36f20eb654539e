import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbHeartbeatSchedule, replayHeartbeats } from './index.js';

const T = 3_000;

describe('replayHeartbeats', () => {
  it('a node whose heartbeats stop is evicted at the first ms after last + timeout, and its EIP moves', () => {
    const r = replayHeartbeats(
      {
        node1: { observedAt: [0, 1_000, 2_000] },
        node2: { observedAt: [0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000] },
      },
      { evictionTimeoutMs: T, untilMs: 7_000 },
    );
    expect(r.nodes.node1?.evictions).toEqual([2_000 + T + 1]);
    expect(r.nodes.node1?.lastHeartbeatAt).toBe(2_000);
    expect(r.nodes.node2?.evictions).toEqual([]);
    expect(r.moves.map((m) => [m.atMs, m.from, m.to])).toEqual([[5_001, 'node1', 'node2']]);
    expect(r.detectionBoundMs).toBe(1);
  });

  it('gaps up to the timeout never evict; a gap one ms longer evicts and the next heartbeat recovers', () => {
    const r = replayHeartbeats(
      { a: { observedAt: [0, T, 2 * T] }, b: { observedAt: [0, T + 1, 2 * T + 1] } },
      { evictionTimeoutMs: T, untilMs: 2 * T + 1 },
    );
    expect(r.nodes.a?.evictions).toEqual([]);
    expect(r.nodes.a?.maxGapMs).toBe(T);
    // b: evicted at T + 1 (the wake-up runs before the heartbeat of the same ms), recovered at once.
    expect(r.nodes.b?.evictions).toEqual([T + 1]);
    expect(r.nodes.b?.recoveries).toEqual([T + 1]);
  });

  it('a polling controller evicts within timeout + poll period', () => {
    const r = replayHeartbeats(
      { a: { observedAt: [0, 700] } },
      { evictionTimeoutMs: T, pollMs: 1_000, untilMs: 10_000 },
    );
    expect(r.detectionBoundMs).toBe(1_000);
    expect(r.nodes.a?.evictions).toEqual([4_000]);
  });

  it('without untilMs it replays until every node could have been evicted', () => {
    const r = replayHeartbeats(
      { a: { observedAt: [10, 20] }, b: { observedAt: [] } },
      { evictionTimeoutMs: T },
    );
    expect(r.untilMs).toBe(20 + T + 1);
    expect(r.nodes.a?.evictions).toEqual([20 + T + 1]);
    expect(r.nodes.b).toEqual({
      heartbeats: [],
      evictions: [],
      recoveries: [],
      lastHeartbeatAt: null,
      maxGapMs: 0,
    });
  });

  it('refuses a timeout that is not a sane number of ms', () => {
    expect(() => replayHeartbeats({ a: { observedAt: [0] } }, { evictionTimeoutMs: 3 })).toThrow(
      /evictionTimeoutMs.*looks like seconds/,
    );
  });

  it('arbHeartbeatSchedule: every schedule has at least one heartbeat, sorted', () => {
    fc.assert(
      fc.property(
        arbHeartbeatSchedule({ updatePeriodMs: 1_000, jitter: 0.5, durationMs: 5_000, maxLatencyMs: 200 }),
        (s) => {
          expect(s.observedAt.length).toBeGreaterThan(0);
          expect([...s.observedAt].sort((x, y) => x - y)).toEqual(s.observedAt);
        },
      ),
    );
  });

  it('property: stopped heartbeats evict within timeout + bound; gaps at or below the timeout never evict', () => {
    fc.assert(
      fc.property(
        arbHeartbeatSchedule({ updatePeriodMs: 1_000, jitter: 0.5, durationMs: 20_000 }),
        fc.constantFrom(undefined, 500, 2_000),
        (schedule, pollMs) => {
          const r = replayHeartbeats(
            { node1: schedule },
            { evictionTimeoutMs: T, ...(pollMs ? { pollMs } : {}) },
          );
          const n = r.nodes.node1;
          const last = n?.lastHeartbeatAt as number;
          expect(n?.evictions.at(-1)).toBeGreaterThan(last + T);
          expect(n?.evictions.at(-1)).toBeLessThanOrEqual(last + T + r.detectionBoundMs);
          if ((n?.maxGapMs ?? 0) <= T) expect(n?.evictions).toHaveLength(1);
        },
      ),
    );
  });
});
