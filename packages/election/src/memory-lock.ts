import { type Clock, sleep, systemClock } from './clock.js';
import { LockConflictError } from './errors.js';
import type { LeaseRecord, Lock, LockState, Unsubscribe } from './lock.js';

/** Options of {@link MemoryLock}. */
export interface MemoryLockOptions {
  /** Clock for the simulated latencies (default {@link systemClock}). */
  readonly clock?: Clock;
  /** Each operation is applied `latencyMs` after it is called (default 0: at once). */
  readonly latencyMs?: number;
  /** Watchers hear of a change `watchDelayMs` after it is applied (default 0). */
  readonly watchDelayMs?: number;
  /** Name used in logs (default `memory`). */
  readonly name?: string;
}

/**
 * An in-process lock with the same compare-and-swap and watch contract as a Kubernetes Lease.
 * Share one instance between several electors to elect among them (tests, single-process apps,
 * simulations); optional latencies make races realistic.
 *
 * @example
 * ```ts
 * const lock = new MemoryLock();
 * const a = new LeaderElector({ lock, identity: 'a', onStartedLeading: work });
 * const b = new LeaderElector({ lock, identity: 'b', onStartedLeading: work });
 * a.start();
 * b.start();
 * ```
 */
export class MemoryLock implements Lock {
  readonly #clock: Clock;
  readonly #latencyMs: number;
  readonly #watchDelayMs: number;
  readonly #name: string;
  #state: LockState | undefined;
  #version = 0;
  readonly #watchers = new Set<(state: LockState | undefined) => void>();

  constructor(options: MemoryLockOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#latencyMs = options.latencyMs ?? 0;
    this.#watchDelayMs = options.watchDelayMs ?? 0;
    this.#name = options.name ?? 'memory';
  }

  describe(): string {
    return `memory lock ${this.#name}`;
  }

  async get(signal: AbortSignal): Promise<LockState | undefined> {
    await this.#delay(signal);
    return this.#state;
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<LockState> {
    await this.#delay(signal);
    if (this.#state !== undefined) throw new LockConflictError(`${this.describe()} already exists`);
    return this.#write(record);
  }

  async update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<LockState> {
    await this.#delay(signal);
    if (this.#state === undefined || this.#state.version !== version) {
      throw new LockConflictError(
        `${this.describe()} was modified (have ${version}, current ${this.#state?.version ?? 'none'})`,
      );
    }
    return this.#write(record);
  }

  watch(listener: (state: LockState | undefined) => void): Unsubscribe {
    this.#watchers.add(listener);
    const current = this.#state;
    if (current !== undefined) this.#deliver(listener, current);
    return () => {
      this.#watchers.delete(listener);
    };
  }

  /** The current state, read without latency (for assertions). */
  peek(): LockState | undefined {
    return this.#state;
  }

  /** Overwrites the record unconditionally, as an outside writer would (tests). */
  forceWrite(record: LeaseRecord): LockState {
    return this.#write(record);
  }

  /** Deletes the record, as `kubectl delete lease` would (tests). */
  forceDelete(): void {
    this.#state = undefined;
    for (const listener of this.#watchers) this.#deliver(listener, undefined);
  }

  #write(record: LeaseRecord): LockState {
    this.#version += 1;
    const state: LockState = { record: { ...record }, version: String(this.#version) };
    this.#state = state;
    for (const listener of this.#watchers) this.#deliver(listener, state);
    return state;
  }

  #deliver(listener: (state: LockState | undefined) => void, state: LockState | undefined): void {
    const send = (): void => {
      if (this.#watchers.has(listener)) listener(state);
    };
    if (this.#watchDelayMs > 0) this.#clock.setTimeout(send, this.#watchDelayMs);
    else queueMicrotask(send);
  }

  async #delay(signal: AbortSignal): Promise<void> {
    if (this.#latencyMs > 0) await sleep(this.#clock, this.#latencyMs, signal);
    else if (signal.aborted) throw signal.reason;
  }
}
