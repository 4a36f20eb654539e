import { describe, expect, it } from 'vitest';
import { forEachLimited } from './limited.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('forEachLimited', () => {
  it('runs every item with never more than `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await tick();
      inFlight--;
      done.push(i);
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it('rejects with the first failure only after every started call settled', async () => {
    const settled: number[] = [];
    const run = forEachLimited([1, 2, 3, 4], 4, async (i) => {
      await tick();
      if (i === 2) throw new Error('two');
      await tick();
      settled.push(i);
    });
    await expect(run).rejects.toThrow('two');
    expect(settled.sort()).toEqual([1, 3, 4]);
  });

  it('starts nothing more once stop() is true', async () => {
    const started: number[] = [];
    await forEachLimited(
      [1, 2, 3, 4, 5],
      1,
      async (i) => {
        started.push(i);
      },
      () => started.length >= 2,
    );
    expect(started).toEqual([1, 2]);
  });
});
