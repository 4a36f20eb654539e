import type { Clock, TimerHandle } from './clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Lets every queued promise continuation run (Node drains microtasks before `setImmediate`). */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A virtual clock for tests: time moves only when you call {@link ManualClock.advance} (or
 * {@link ManualClock.runNext}); due timers fire in time order (FIFO on ties) and pending promise
 * continuations settle after each timer, so async code built on the clock runs as it would in
 * real time, only instantly and deterministically.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const elector = new LeaderElector({ lock: new MemoryLock({ clock }), clock, identity: 'a', ... });
 * elector.start();
 * await clock.advance(1); // 'a' acquires the free lock
 * await clock.advance(15_000); // fifteen virtual seconds, in microseconds of real time
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  // Binary min-heap on (at, id); id keeps equal deadlines first-in first-out.
  #heap: Timer[] = [];
  // Ids of timers still due; a cancelled timer stays in the heap until it reaches the top.
  #live = new Set<number>();

  /** @param startMs the initial value of `now()` (default 0). */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#live.add(id);
    this.#push({ id, at: this.#now + Math.max(0, Number.isFinite(ms) ? ms : 0), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#live.delete(handle);
  }

  /** Number of timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.#live.size;
  }

  /** The instant of the earliest pending timer, if any. */
  nextTimerAt(): number | undefined {
    this.#dropCancelledTop();
    return this.#heap[0]?.at;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way (including timers those
   * timers set), and settles promise continuations after each one.
   */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /** Like {@link ManualClock.advance}, to an absolute instant (never backwards). */
  async advanceTo(targetMs: number): Promise<void> {
    await flushMicrotasks();
    for (;;) {
      this.#dropCancelledTop();
      const top = this.#heap[0];
      if (top === undefined || top.at > targetMs) break;
      this.#pop();
      this.#live.delete(top.id);
      this.#now = Math.max(this.#now, top.at);
      top.fn();
      await flushMicrotasks();
    }
    this.#now = Math.max(this.#now, targetMs);
  }

  /** Jumps to the next pending timer and fires it (and any due at the same instant). */
  async runNext(): Promise<boolean> {
    const at = this.nextTimerAt();
    if (at === undefined) return false;
    await this.advanceTo(at);
    return true;
  }

  #dropCancelledTop(): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || this.#live.has(top.id)) return;
      this.#pop();
    }
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Timer;
      if (!this.#less(timer, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = timer;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const child = r < heap.length && this.#less(heap[r] as Timer, heap[l] as Timer) ? r : l;
      if (!this.#less(heap[child] as Timer, last)) break;
      heap[i] = heap[child] as Timer;
      i = child;
    }
    heap[i] = last;
  }
}
