import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('Coalescer', () => {
  it('runs once for triggers of one tick, and once more for any number of triggers during a run', async () => {
    let runs = 0;
    const gates: Array<() => void> = [];
    const c = new Coalescer(async () => {
      runs++;
      await new Promise<void>((r) => gates.push(r));
    });
    c.trigger();
    c.trigger();
    await tick();
    expect(runs).toBe(1);
    expect(c.running).toBe(true);
    for (let i = 0; i < 5; i++) c.trigger();
    gates.shift()?.();
    await tick();
    expect(runs).toBe(2);
    gates.shift()?.();
    await c.whenIdle();
    expect(runs).toBe(2);
    expect(c.running).toBe(false);
    // Idle again: the next trigger starts a new run.
    c.trigger();
    await tick();
    expect(runs).toBe(3);
    gates.shift()?.();
    await c.whenIdle();
  });

  it('never runs the job twice at once, and whenIdle waits for the queued run too', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    const c = new Coalescer(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      runs++;
      await tick();
      if (runs === 1) c.trigger(); // a change seen while running
      inFlight--;
    });
    c.trigger();
    await Promise.resolve();
    await c.whenIdle();
    expect(runs).toBe(2);
    expect(maxInFlight).toBe(1);
    expect(await Promise.race([c.whenIdle().then(() => 'idle'), tick().then(() => 'pending')])).toBe('idle');
  });

  it('hands a failed run to onError and keeps going', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const c = new Coalescer(
      async () => {
        n++;
        if (n === 1) {
          c.trigger();
          throw new Error('boom');
        }
      },
      { onError: (e) => errors.push((e as Error).message) },
    );
    c.trigger();
    await tick();
    await c.whenIdle();
    expect(errors).toEqual(['boom']);
    expect(n).toBe(2);
  });
});
