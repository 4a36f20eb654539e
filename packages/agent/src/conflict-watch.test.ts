import type { EipConflict } from '@egressgateway/datapath';
import { silentLogger } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { StepClock } from '../test/step-clock.js';
import { ConflictWatch } from './conflict-watch.js';
import { createAgentMetrics } from './metrics.js';

/** Runs the next timer and lets the probe it started settle. */
async function fire(clock: StepClock): Promise<void> {
  clock.fireNext();
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

const conflict = (address: string, otherMac?: string): EipConflict => ({
  address,
  interface: 'eth0',
  otherMac,
});

function setup(intervalMs = 30_000) {
  const clock = new StepClock();
  const metrics = createAgentMetrics();
  const events: Array<{ type: string; reason: string; message: string }> = [];
  const probes: Array<readonly EipConflict[] | Error> = [];
  let probed = 0;
  const watch = new ConflictWatch({
    probe: async () => {
      probed++;
      const next = probes.shift() ?? [];
      if (next instanceof Error) throw next;
      return next;
    },
    clock,
    log: silentLogger,
    metrics,
    events: { record: (e) => void events.push(e) },
    nodeName: 'gw1',
    intervalMs,
  });
  const gauge = async () => (await metrics.eipConflicts.get()).values[0]?.value;
  const found = async () => (await metrics.eipConflictsFound.get()).values[0]?.value;
  return { clock, watch, events, probes, probed: () => probed, gauge, found };
}

describe('ConflictWatch', () => {
  it('records a conflict once (Warning event naming the EIP, the other MAC and the fix), however often a probe reports it', async () => {
    const { watch, events, gauge, found } = setup();
    watch.report(conflict('198.18.0.50', '02:00:00:00:00:99'));
    watch.report(conflict('198.18.0.50', '02:00:00:00:00:99'));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', reason: 'EIPConflict' });
    expect(events[0]?.message).toContain('198.18.0.50');
    expect(events[0]?.message).toContain('02:00:00:00:00:99');
    expect(events[0]?.message).toContain('ippools');
    expect(await gauge()).toBe(1);
    expect(await found()).toBe(1);
    // Another owner (a different MAC) is news again.
    watch.report(conflict('198.18.0.50', '02:00:00:00:00:98'));
    expect(events).toHaveLength(2);
    expect(await gauge()).toBe(1);
    expect(await found()).toBe(2);
  });

  it('a round reports what it finds and clears what it no longer finds', async () => {
    const { watch, events, probes, gauge } = setup();
    probes.push([conflict('198.18.0.50'), conflict('fd00:18::50')]);
    await watch.round();
    expect(await gauge()).toBe(2);
    expect([...watch.current.keys()].sort()).toEqual(['198.18.0.50', 'fd00:18::50']);
    probes.push([conflict('fd00:18::50')]);
    await watch.round();
    expect([...watch.current.keys()]).toEqual(['fd00:18::50']);
    expect(await gauge()).toBe(1);
    expect(events.map((e) => e.reason)).toEqual(['EIPConflict', 'EIPConflict', 'EIPConflictCleared']);
    expect(events[2]?.message).toContain('198.18.0.50');
  });

  it('probes every interval until stopped, also after a failed probe', async () => {
    const { clock, watch, probes, probed } = setup(30_000);
    watch.start();
    expect(probed()).toBe(0);
    probes.push(new Error('arping: not found'));
    await fire(clock);
    expect([clock.t, probed()]).toEqual([30_000, 1]);
    await fire(clock);
    expect([clock.t, probed()]).toEqual([60_000, 2]);
    watch.stop();
    expect(clock.timers.size).toBe(0);
  });

  it('with interval 0 it only reports what the binder finds at bind time', () => {
    const { clock, watch, probed } = setup(0);
    watch.start();
    expect(clock.timers.size).toBe(0);
    expect(probed()).toBe(0);
  });
});
