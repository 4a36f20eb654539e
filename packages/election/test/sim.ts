// A discrete-event simulation of N candidate processes electing through one shared lock, all in
// virtual time. "World" time is real time; each process sees it through its own drifting,
// offset clock, can be paused (its timers and incoming messages queue up) or crashed (they are
// dropped), and talks to the lock over a link with random latency and faults.
import type { Clock, TimerHandle } from '../src/clock.js';
import { LockTimeoutError, LockUnavailableError } from '../src/errors.js';
import { LeaderElector } from '../src/leader-elector.js';
import type { LeaseRecord, Lock, LockState, Unsubscribe } from '../src/lock.js';
import { ManualClock } from '../src/manual-clock.js';
import { MemoryLock } from '../src/memory-lock.js';
import type { ElectionTiming } from '../src/options.js';

/** Deterministic PRNG (mulberry32) so a fast-check seed replays a schedule exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ProcessSpec {
  /** Clock rate relative to real time (1 = exact). */
  readonly rate: number;
  /** Clock offset in ms (irrelevant by design; varied to prove it). */
  readonly offsetMs: number;
  /** One-way latency bounds to the lock, ms. */
  readonly latencyMs: readonly [number, number];
  /** Watch notification delay, ms. */
  readonly watchDelayMs: number;
  /** Probability an operation fails before reaching the lock. */
  readonly preCommitErrorRate: number;
  /** Probability a successful operation's response is lost. */
  readonly lostResponseRate: number;
  /** Whether this process watches the lock (default true); without, it polls only. */
  readonly watch?: boolean;
}

export interface SimTerm {
  readonly id: string;
  readonly startedAt: number;
  endedAt?: number;
}

class Process {
  paused = false;
  crashed = false;
  stopped = false;
  #queue: Array<() => void> = [];

  run(fn: () => void): void {
    if (this.crashed) return;
    if (this.paused) this.#queue.push(fn);
    else fn();
  }

  resume(): void {
    this.paused = false;
    const queued = this.#queue;
    this.#queue = [];
    for (const fn of queued) this.run(fn);
  }
}

class SimClock implements Clock {
  constructor(
    readonly world: ManualClock,
    readonly spec: ProcessSpec,
    readonly proc: Process,
  ) {}

  now(): number {
    return this.spec.offsetMs + this.spec.rate * this.world.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = { cancelled: false, timer: undefined as TimerHandle };
    handle.timer = this.world.setTimeout(
      () =>
        this.proc.run(() => {
          if (!handle.cancelled) fn();
        }),
      Math.max(0, ms) / this.spec.rate,
    );
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    const h = handle as { cancelled: boolean; timer: TimerHandle } | undefined;
    if (h === undefined) return;
    h.cancelled = true;
    this.world.clearTimeout(h.timer);
  }
}

class SimLink implements Lock {
  constructor(
    readonly sim: Sim,
    readonly server: MemoryLock,
    readonly spec: ProcessSpec,
    readonly proc: Process,
    readonly rand: () => number,
  ) {}

  describe(): string {
    return 'sim link';
  }

  #latency(): number {
    const [lo, hi] = this.spec.latencyMs;
    return lo + (hi - lo) * this.rand();
  }

  #worldSleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sim.world.setTimeout(resolve, ms));
  }

  // Delivers an outcome to the process: waits while it is paused, never when it crashed.
  #deliver<T>(outcome: { ok: true; value: T } | { ok: false; error: unknown }): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.proc.run(() => (outcome.ok ? resolve(outcome.value) : reject(outcome.error))),
    );
  }

  async #call<T>(signal: AbortSignal, apply: (serverSignal: AbortSignal) => Promise<T>): Promise<T> {
    await this.#worldSleep(this.#latency());
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    if (signal.aborted) {
      outcome = { ok: false, error: signal.reason };
    } else if (this.sim.faults && this.rand() < this.spec.preCommitErrorRate) {
      outcome = { ok: false, error: new LockUnavailableError('injected: connection refused', 503) };
    } else {
      try {
        outcome = { ok: true, value: await apply(new AbortController().signal) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      if (outcome.ok && this.sim.faults && this.rand() < this.spec.lostResponseRate) {
        outcome = { ok: false, error: new LockTimeoutError('injected: response lost') };
      }
    }
    await this.#worldSleep(this.#latency());
    return this.#deliver(outcome);
  }

  get(signal: AbortSignal): Promise<LockState | undefined> {
    return this.#call(signal, (s) => this.server.get(s));
  }

  create(record: LeaseRecord, signal: AbortSignal): Promise<LockState> {
    return this.#call(signal, (s) => this.server.create(record, s));
  }

  update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<LockState> {
    return this.#call(signal, (s) => this.server.update(record, version, s));
  }

  watch(listener: (state: LockState | undefined) => void): Unsubscribe {
    return this.server.watch((state) => {
      this.sim.world.setTimeout(() => this.proc.run(() => listener(state)), this.spec.watchDelayMs);
    });
  }
}

function pollOnly(lock: Lock): Lock {
  return {
    describe: () => lock.describe(),
    get: (signal) => lock.get(signal),
    create: (record, signal) => lock.create(record, signal),
    update: (record, version, signal) => lock.update(record, version, signal),
  };
}

export interface Candidate {
  readonly id: string;
  readonly proc: Process;
  readonly elector: LeaderElector;
  readonly spec: ProcessSpec;
}

/** The simulation: candidates, the shared lock, the checker. */
export class Sim {
  readonly world = new ManualClock(0);
  readonly server = new MemoryLock({ clock: this.world, name: 'sim' });
  readonly candidates: Candidate[] = [];
  readonly terms: SimTerm[] = [];
  readonly violations: string[] = [];
  /** Holder changes as applied by the lock, in world time. */
  readonly commits: Array<{ at: number; holder: string }> = [];
  faults = true;

  constructor(
    readonly timing: Omit<ElectionTiming, 'requestTimeoutMs'>,
    specs: readonly ProcessSpec[],
    seed: number,
  ) {
    const rand = prng(seed);
    let lastHolder: string | undefined;
    this.server.watch((state) => {
      const holder = state?.record.holderIdentity ?? '';
      if (holder !== lastHolder) this.commits.push({ at: this.world.now(), holder });
      lastHolder = holder;
    });
    specs.forEach((spec, i) => {
      const id = `c${i}`;
      const proc = new Process();
      const clock = new SimClock(this.world, spec, proc);
      const link = new SimLink(this, this.server, spec, proc, rand);
      const elector = new LeaderElector({
        ...timing,
        identity: id,
        clock,
        random: rand,
        lock: spec.watch === false ? pollOnly(link) : link,
        onStartedLeading: (signal) => {
          const term: SimTerm = { id, startedAt: this.world.now() };
          this.terms.push(term);
          signal.addEventListener('abort', () => {
            term.endedAt = this.world.now();
          });
        },
      });
      this.candidates.push({ id, proc, elector, spec });
    });
  }

  start(): void {
    for (const c of this.candidates) c.elector.start();
  }

  /** Candidates whose term is valid now, by their own clocks (crashed and paused included). */
  leaders(): Candidate[] {
    return this.candidates.filter((c) => c.elector.isLeader());
  }

  /** Live (not crashed, not stopped) candidates. */
  live(): Candidate[] {
    return this.candidates.filter((c) => !c.proc.crashed && !c.proc.stopped);
  }

  #check(): void {
    const leaders = this.leaders();
    if (leaders.length > 1) {
      this.violations.push(`t=${this.world.now()}: ${leaders.map((c) => c.id).join(' and ')} both lead`);
    }
  }

  /** Runs the world to `untilMs`, checking the safety invariant after every instant. */
  async runUntil(untilMs: number, stopWhen?: () => boolean): Promise<void> {
    for (;;) {
      const at = this.world.nextTimerAt();
      if (at === undefined || at > untilMs) break;
      await this.world.advanceTo(at);
      this.#check();
      if (this.violations.length > 0 || stopWhen?.()) return;
    }
    await this.world.advanceTo(untilMs);
    this.#check();
  }

  /** Schedules a fault at world time `atMs`. */
  at(atMs: number, fn: () => void): void {
    this.world.setTimeout(fn, Math.max(0, atMs - this.world.now()));
  }

  pause(c: Candidate, durationMs: number): void {
    if (c.proc.crashed || c.proc.paused) return;
    c.proc.paused = true;
    this.world.setTimeout(() => c.proc.resume(), durationMs);
  }

  crash(c: Candidate): void {
    c.proc.crashed = true;
  }

  /** Ends the chaos: no more injected faults, every paused process resumes. */
  quiet(): void {
    this.faults = false;
    for (const c of this.candidates) c.proc.resume();
  }

  /** Gracefully stops one candidate (it releases the lease). */
  stop(c: Candidate): Promise<void> {
    c.proc.stopped = true;
    return c.elector.stop();
  }

  async stopAll(): Promise<void> {
    this.faults = false;
    for (const c of this.candidates) {
      c.proc.resume();
      if (!c.proc.crashed) c.proc.stopped = true;
    }
    const done = Promise.all(this.candidates.filter((c) => !c.proc.crashed).map((c) => c.elector.stop()));
    await this.runUntil(this.world.now() + this.timing.leaseDurationMs * 3);
    await done;
  }
}
