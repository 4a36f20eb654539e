import { describe, expect, it } from 'vitest';
import { clockTimeout, sleep, withClockTimeout } from './clock.js';
import { ManualClock } from './manual-clock.js';

describe('ManualClock', () => {
  it('fires timers in time order, FIFO on ties, at their exact instants', async () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    await clock.advance(19);
    expect(fired).toEqual(['a@110']);
    expect(clock.now()).toBe(119);
    await clock.advance(1);
    expect(fired).toEqual(['a@110', 'b@120', 'c@120']);
  });

  it('fires timers set by timers within the same advance, and never moves backwards', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    await clock.advance(10);
    expect(fired).toEqual([5, 10]);
    await clock.advanceTo(3);
    expect(clock.now()).toBe(10);
  });

  it('clearTimeout cancels; pendingTimers and nextTimerAt reflect it', async () => {
    const clock = new ManualClock();
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 5);
    clock.setTimeout(() => {}, 7);
    expect(clock.pendingTimers()).toBe(2);
    expect(clock.nextTimerAt()).toBe(5);
    clock.clearTimeout(h);
    clock.clearTimeout(h);
    clock.clearTimeout('not a handle');
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextTimerAt()).toBe(7);
    await clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
    expect(await clock.runNext()).toBe(false);
  });

  it('settles promise chains between timers so async code sees consistent time', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const task = (async () => {
      await sleep(clock, 10);
      seen.push(clock.now());
      await Promise.resolve();
      await sleep(clock, 10);
      seen.push(clock.now());
    })();
    await clock.advance(25);
    await task;
    expect(seen).toEqual([10, 20]);
  });

  it('runNext jumps to the next timer', async () => {
    const clock = new ManualClock();
    clock.setTimeout(() => {}, 1_000_000);
    expect(await clock.runNext()).toBe(true);
    expect(clock.now()).toBe(1_000_000);
  });

  it('handles many timers in order (heap)', async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const delays = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
    for (const d of delays) clock.setTimeout(() => fired.push(d), d);
    await clock.advance(1000);
    expect(fired).toEqual([...delays].sort((a, b) => a - b));
  });
});

describe('sleep and clockTimeout on a clock', () => {
  it('sleep rejects with the abort reason and drops its timer', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const p = sleep(clock, 100, controller.signal);
    controller.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pendingTimers()).toBe(0);
    await expect(sleep(clock, 1, controller.signal)).rejects.toThrow('stop');
  });

  it('clockTimeout aborts after the given virtual time unless cancelled', async () => {
    const clock = new ManualClock();
    const t = clockTimeout(clock, 50, () => new Error('late'));
    await clock.advance(49);
    expect(t.signal.aborted).toBe(false);
    await clock.advance(1);
    expect((t.signal.reason as Error).message).toBe('late');
    const u = clockTimeout(clock, 50, () => new Error('never'));
    u.cancel();
    await clock.advance(100);
    expect(u.signal.aborted).toBe(false);
  });

  it('withClockTimeout settles at the deadline even when the work ignores its signal', async () => {
    const clock = new ManualClock();
    const hung = withClockTimeout(
      clock,
      30,
      () => new Error('timed out'),
      () => new Promise(() => {}),
    );
    const settled = hung.catch((e: Error) => `${e.message}@${clock.now()}`);
    await clock.advance(100);
    expect(await settled).toBe('timed out@30');
    const fast = withClockTimeout(
      clock,
      30,
      () => new Error('no'),
      async (signal) => (signal.aborted ? 'x' : 'ok'),
    );
    expect(await fast).toBe('ok');
    expect(clock.pendingTimers()).toBe(0);
  });
});
