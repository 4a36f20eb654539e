import type { Clock } from '@egressgateway/kube';

/**
 * A clock for unit tests: time moves and timers fire only when the test says so, each timer at its
 * own time and in time order.
 */
export class StepClock implements Clock {
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.timers.set(++this.seq, { at: this.t + Math.max(0, ms), fn });
    return this.seq;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Runs the earliest timer (time moves to it); returns its delay from the previous now. */
  fireNext(): number {
    const next = this.earliest(Number.POSITIVE_INFINITY);
    if (next === undefined) throw new Error('no timer');
    const waited = next[1].at - this.t;
    this.fire(next);
    return waited;
  }
  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (let next = this.earliest(end); next !== undefined; next = this.earliest(end)) this.fire(next);
    this.t = end;
  }
  private earliest(until: number): [number, { at: number; fn: () => void }] | undefined {
    let next: [number, { at: number; fn: () => void }] | undefined;
    for (const e of this.timers)
      if (e[1].at <= until && (next === undefined || e[1].at < next[1].at)) next = e;
    return next;
  }
  private fire([id, timer]: [number, { at: number; fn: () => void }]): void {
    this.timers.delete(id);
    this.t = Math.max(this.t, timer.at);
    timer.fn();
  }
}
