import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbHeartbeatSchedule } from '../testing/arbitraries.js';
import { assessHeartbeats } from './heartbeat.js';

describe('assessHeartbeats properties', () => {
  it('exact boundary: fresh at observedAt + timeout, expired one ms later, nextChangeAt is that ms', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 100, max: 60_000 }), (t, T) => {
        const at = (now: number) =>
          assessHeartbeats([{ id: 'n', observedAt: t }], { evictionTimeoutMs: T }, now);
        expect(at(t + T).health.get('n')?.heartbeat).toBe('fresh');
        expect(at(t + T).nextChangeAt).toBe(t + T + 1);
        expect(at(t + T + 1).health.get('n')?.heartbeat).toBe('expired');
      }),
    );
  });

  it('a controller waking only on heartbeats and at nextChangeAt evicts exactly at every gap > timeout, whatever the skew', () => {
    fc.assert(
      fc.property(
        arbHeartbeatSchedule({ updatePeriodMs: 1_000, jitter: 0.5, durationMs: 30_000, maxLatencyMs: 200 }),
        fc.integer({ min: 1_000, max: 5_000 }),
        (schedule, T) => {
          const end = 30_000;
          const found: number[] = [];
          let last: number | null = null;
          let wake: number | null = null;
          let wasFresh = false;
          const observations = [...schedule.observedAt];
          let now = 0;
          // Event loop: the next event is either the next observation or the engine's wake-up.
          while (now <= end) {
            const nextObs = observations[0];
            const next = Math.min(nextObs ?? Number.POSITIVE_INFINITY, wake ?? Number.POSITIVE_INFINITY);
            if (next === Number.POSITIVE_INFINITY || next > end) break;
            now = next;
            // At a tie the wake-up runs first: the heartbeat arriving in that same ms is seen after it.
            if (nextObs === now && wake !== now) {
              observations.shift();
              last = now;
            }
            const { health, nextChangeAt } = assessHeartbeats(
              [{ id: 'n', observedAt: last }],
              { evictionTimeoutMs: T },
              now,
            );
            const fresh = health.get('n')?.heartbeat === 'fresh';
            if (wasFresh && !fresh) found.push(now);
            wasFresh = fresh;
            wake = nextChangeAt;
          }
          // Oracle: the first ms after each observation whose successor came later than the timeout.
          const expected: number[] = [];
          schedule.observedAt.forEach((o, i) => {
            const following = schedule.observedAt[i + 1];
            if ((following === undefined || following > o + T) && o + T + 1 <= end) expected.push(o + T + 1);
          });
          expect(found).toEqual(expected);
        },
      ),
    );
  });
});
