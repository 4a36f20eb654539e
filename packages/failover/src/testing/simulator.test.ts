import { describe, expect, it } from 'vitest';
import { simulateFailover } from './simulator.js';
import { percentiles, simulateTrials } from './trials.js';

const recommended = { tunnelUpdatePeriod: 1, tunnelMonitorPeriod: 5, eipEvictionTimeout: 3 } as const;
const seed = { tunnelUpdatePeriod: 5, tunnelMonitorPeriod: 5, eipEvictionTimeout: 5 } as const;

describe('simulateFailover', () => {
  it('is deterministic for a seed', () => {
    const run = () =>
      simulateFailover(
        { ...recommended, mode: 'deadline', jitter: 0.5, seed: 42 },
        { durationMs: 30_000, faults: [{ atMs: 15_000, kind: 'crash' }] },
      );
    expect(run()).toEqual(run());
  });

  it('deadline mode: a crash fails over within eviction timeout + write and bind latency, with no false eviction', () => {
    for (let s = 1; s <= 20; s++) {
      const r = simulateFailover(
        {
          ...recommended,
          mode: 'deadline',
          jitter: 0.2,
          seed: s,
          writeLatencyMs: [5, 50],
          bindLatencyMs: 20,
        },
        { durationMs: 30_000, faults: [{ atMs: 15_000, kind: 'crash' }] },
      );
      const f = r.faults[0];
      expect(f?.eips).toBeGreaterThan(0);
      // Detection happens at lastObserved + 3000 + 1 ms, and the last heartbeat was observed before the crash.
      expect(f?.detectionMs).toBeGreaterThan(0);
      expect(f?.detectionMs).toBeLessThanOrEqual(3_001 + 50);
      expect(f?.failoverMs).toBeLessThanOrEqual(3_001 + 50 + 50 + 20);
      expect(r.falseEvictions).toEqual([]);
    }
  });

  it('poll mode: detection waits for the next monitor tick, so it is later than in deadline mode', () => {
    const trials = { trials: 60 };
    const poll = simulateTrials({ ...recommended, mode: 'poll', jitter: 0.2, seed: 3 }, trials);
    const deadline = simulateTrials({ ...recommended, mode: 'deadline', jitter: 0.2, seed: 3 }, trials);
    expect(poll.failover?.max).toBeGreaterThan(deadline.failover?.max as number);
    expect(deadline.failover?.max).toBeLessThan(3_200);
  });

  it("the seed's 5/5/5 with jitter evicts healthy nodes; the recommended settings do not", () => {
    const unsafe = simulateTrials({ ...seed, mode: 'poll', jitter: 0.5, seed: 9 }, { trials: 30 });
    const safe = simulateTrials({ ...recommended, mode: 'deadline', jitter: 0.5, seed: 9 }, { trials: 30 });
    expect(unsafe.falseEvictionRate).toBeGreaterThan(0.5);
    expect(safe.falseEvictionRate).toBe(0);
  });

  it('a partitioned agent without fencing keeps its EIP while another node holds it; with fencing it lets go first', () => {
    const scenario = {
      durationMs: 40_000,
      faults: [{ atMs: 20_000, kind: 'partition' as const, durationMs: 10_000 }],
    };
    const unfenced = simulateFailover(
      { ...recommended, mode: 'deadline', fencing: false, seed: 5 },
      scenario,
    );
    const fenced = simulateFailover({ ...recommended, mode: 'deadline', fencing: true, seed: 5 }, scenario);
    expect(unfenced.faults[0]?.duplicateOwnerMs).toBeGreaterThan(5_000);
    expect(fenced.faults[0]?.duplicateOwnerMs).toBe(0);
    expect(fenced.faults[0]?.failoverMs).not.toBeNull();
  });

  it('an acknowledgement that finds the tunnel already evicted fences the agent, as FenceKeeper does (found by the fencing property)', () => {
    // Eviction = update period: the controller evicts a healthy node whenever a heartbeat is late,
    // while the next one is in flight. That heartbeat lands after the eviction; it must not renew
    // the lease (the agent lets go at once), or the node re-binds an EIP the controller moved.
    const r = simulateFailover(
      {
        tunnelUpdatePeriod: 1,
        tunnelMonitorPeriod: 1,
        eipEvictionTimeout: 1,
        mode: 'deadline',
        fencing: true,
        jitter: 0,
        seed: 157204565,
      },
      { durationMs: 90_000, faults: [{ atMs: 39_984, kind: 'pause', durationMs: 500 }] },
    );
    expect(r.faults[0]?.duplicateOwnerMs).toBe(0);
  });

  it('a planned drain hands over in about one write round trip, without waiting for eviction', () => {
    const r = simulateFailover(
      { ...recommended, mode: 'deadline', seed: 8 },
      { durationMs: 30_000, faults: [{ atMs: 15_000, kind: 'drain' }] },
    );
    expect(r.faults[0]?.failoverMs).toBeLessThan(200);
    expect(r.faults[0]?.duplicateOwnerMs).toBe(0);
  });
});

describe('percentiles', () => {
  it('uses nearest rank', () => {
    expect(percentiles([5, 1, 4, 2, 3])).toEqual({ p50: 3, p90: 5, p99: 5, max: 5, mean: 3 });
    expect(percentiles([])).toBeNull();
  });
});

describe('simulateFailover: pause', () => {
  it('a frozen agent loses its EIPs to another node; with fencing its kernel addresses lapse first', () => {
    const scenario = {
      durationMs: 40_000,
      faults: [{ atMs: 20_000, kind: 'pause' as const, durationMs: 8_000 }],
    };
    const r = simulateFailover({ ...recommended, mode: 'deadline', seed: 11 }, scenario);
    expect(r.faults[0]?.failoverMs).toBeLessThanOrEqual(3_200);
    expect(r.faults[0]?.duplicateOwnerMs).toBe(0);
  });
});
