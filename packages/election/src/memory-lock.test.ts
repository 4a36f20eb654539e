import { describe, expect, it } from 'vitest';
import { LockConflictError } from './errors.js';
import type { LeaseRecord, LockState } from './lock.js';
import { ManualClock } from './manual-clock.js';
import { MemoryLock } from './memory-lock.js';

const rec = (holderIdentity: string): LeaseRecord => ({
  holderIdentity,
  leaseDurationMs: 15_000,
  acquireTime: '',
  renewTime: '',
  leaseTransitions: 0,
});
const live = () => new AbortController().signal;

describe('MemoryLock', () => {
  it('creates once, then updates only from the current version (compare-and-swap)', async () => {
    const lock = new MemoryLock();
    expect(await lock.get(live())).toBeUndefined();
    const s1 = await lock.create(rec('a'), live());
    await expect(lock.create(rec('b'), live())).rejects.toBeInstanceOf(LockConflictError);
    const s2 = await lock.update(rec('b'), s1.version, live());
    expect(s2.version).not.toBe(s1.version);
    await expect(lock.update(rec('c'), s1.version, live())).rejects.toBeInstanceOf(LockConflictError);
    expect((await lock.get(live()))?.record.holderIdentity).toBe('b');
    lock.forceDelete();
    await expect(lock.update(rec('c'), s2.version, live())).rejects.toBeInstanceOf(LockConflictError);
  });

  it('watch replays the current state, then every change and deletion, until unsubscribed', async () => {
    const lock = new MemoryLock();
    await lock.create(rec('a'), live());
    const seen: Array<string | undefined> = [];
    const stop = lock.watch((s: LockState | undefined) => seen.push(s?.record.holderIdentity));
    await Promise.resolve();
    lock.forceWrite(rec('b'));
    lock.forceDelete();
    await Promise.resolve();
    stop();
    lock.forceWrite(rec('c'));
    await Promise.resolve();
    expect(seen).toEqual(['a', 'b', undefined]);
  });

  it('applies operations after latencyMs and not at all when aborted first', async () => {
    const clock = new ManualClock();
    const lock = new MemoryLock({ clock, latencyMs: 10, watchDelayMs: 3 });
    const heard: number[] = [];
    lock.watch(() => heard.push(clock.now()));
    const created = lock.create(rec('a'), live());
    await clock.advance(9);
    expect(lock.peek()).toBeUndefined();
    await clock.advance(1);
    await created;
    expect(lock.peek()?.record.holderIdentity).toBe('a');
    await clock.advance(3);
    expect(heard).toEqual([13]);

    const controller = new AbortController();
    const update = lock.update(rec('b'), '1', controller.signal);
    controller.abort(new Error('timeout'));
    await expect(update).rejects.toThrow('timeout');
    await clock.advance(20);
    expect(lock.peek()?.record.holderIdentity).toBe('a');
  });
});
