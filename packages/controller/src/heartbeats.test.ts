import type { EgressTunnel } from '@egressgateway/crds';
import { describe, expect, it } from 'vitest';
import { HeartbeatObserver, isHeartbeatOnlyChange } from './heartbeats.js';

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

describe('HeartbeatObserver: an API outage does not count against heartbeats', () => {
  const EVICT = 3_000;
  const observer = (seen: Record<string, number>) => {
    const o = new HeartbeatObserver();
    for (const [name, at] of Object.entries(seen)) o.observe(name, `hb-${at}`, at);
    return o;
  };

  it('while the API server is lost, observed times move later with the clock', () => {
    const o = observer({ a: 1_000 });
    o.lost(2_000);
    expect(o.observedAt('a', 1_500)).toBe(1_000);
    expect(o.observedAt('a', 2_000)).toBe(1_000);
    expect(o.observedAt('a', 6_000)).toBe(5_000); // 4 s of outage do not count
    expect(o.observedAt('a')).toBe(1_000); // without an instant: the recorded time
  });

  it('a short outage shifts each observed time by its length', () => {
    const o = observer({ a: 1_000, b: 1_900 });
    o.lost(2_000);
    expect(o.regained(3_000, EVICT)).toEqual({ outageMs: 1_000, tunnels: 2 });
    expect(o.observedAt('a', 3_000)).toBe(2_000);
    expect(o.observedAt('b', 3_000)).toBe(2_900);
    // The outage is over: time counts again, and a dead node is still evicted, 1 s later.
    expect(o.observedAt('a', 10_000)).toBe(2_000);
  });

  it('after an outage of half the eviction timeout or more, every tunnel gets a whole timeout from the return', () => {
    const o = observer({ a: 1_000, b: 1_900, c: 9_000 });
    o.lost(2_000);
    o.observe('c', 'hb-new', 9_000); // delivered on the return, before the outage is closed
    expect(o.regained(9_000, EVICT)).toEqual({ outageMs: 7_000, tunnels: 2 });
    expect([o.observedAt('a', 9_000), o.observedAt('b', 9_000), o.observedAt('c', 9_000)]).toEqual([
      9_000, 9_000, 9_000,
    ]);
  });

  it('a watch silent for longer than silenceMs is an outage (a hung API server fails no request)', () => {
    const o = new HeartbeatObserver(1_000);
    o.observe('a', 'hb-1', 1_000);
    expect(o.delivered(1_000, EVICT)).toBeNull();
    // Other tunnels' changes keep arriving: no outage, time counts.
    expect(o.delivered(1_800, EVICT)).toBeNull();
    expect(o.observedAt('a', 2_700)).toBe(1_000);
    // Silent since 1 800: from 2 800 on, the silence does not count.
    expect(o.observedAt('a', 6_800)).toBe(5_000);
    // The watch delivers again at 9 000 after 6.2 s of real outage: a whole timeout from there.
    o.observe('a', 'hb-2', 9_000);
    expect(o.delivered(9_000, EVICT)).toEqual({ outageMs: 6_200, tunnels: 0 });
    expect(o.observedAt('a', 9_500)).toBe(9_000);
  });

  it('without silenceMs a quiet watch changes nothing (only list/watch failures count)', () => {
    const o = observer({ a: 1_000 });
    expect(o.delivered(1_000, EVICT)).toBeNull();
    expect(o.observedAt('a', 60_000)).toBe(1_000);
    expect(o.delivered(60_000, EVICT)).toBeNull();
  });

  it('without a loss there is nothing to regain, and the first failure of an outage counts', () => {
    const o = observer({ a: 1_000 });
    expect(o.regained(5_000, EVICT)).toBeNull();
    o.lost(2_000);
    o.lost(2_500);
    expect(o.regained(2_600, EVICT)).toEqual({ outageMs: 600, tunnels: 1 });
    expect(o.observedAt('a', 2_600)).toBe(1_600);
  });
});
