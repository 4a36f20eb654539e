import type { Clock } from '@egressgateway/kube';

/** A clock for unit tests: time moves and timers fire only when the test says so. */
export class StepClock implements Clock {
  t = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.timers.set(++this.seq, { at: this.t + ms, fn });
    return this.seq;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Runs the earliest timer (time moves to it); returns its delay from the previous now. */
  fireNext(): number {
    const [id, next] = [...this.timers].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
    if (id === undefined || next === undefined) throw new Error('no timer');
    this.timers.delete(id);
    const waited = next.at - this.t;
    this.t = next.at;
    next.fn();
    return waited;
  }
}
