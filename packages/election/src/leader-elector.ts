import { type Clock, systemClock, type TimerHandle, withClockTimeout } from './clock.js';
import { decide, nextRecord, recordLeaseDurationMs, releasedRecord } from './decide.js';
import {
  ElectionError,
  errorFields,
  InvalidOptionsError,
  LeadershipLostError,
  LockConflictError,
  LockTimeoutError,
  type TermEndReason,
} from './errors.js';
import { type Lock, type LockState, toMicroTime, type Unsubscribe } from './lock.js';
import { type ElectionMetrics, type Logger, silentLogger } from './logger.js';
import { type ElectionTiming, JITTER_FACTOR, resolveTiming } from './options.js';

/** Options of {@link LeaderElector}. Durations default to client-go's 15 s / 10 s / 2 s. */
/**
 * The `AbortSignal` of a leadership term. Once it aborted, `reason` is the
 * {@link LeadershipLostError} that says why (`renew-deadline`, `lease-lost` or `stopped`).
 */
export interface TermSignal extends AbortSignal {
  readonly reason: LeadershipLostError | undefined;
}

export interface LeaderElectorOptions extends Partial<ElectionTiming> {
  /** Where the lease lives (`KubernetesLeaseLock`, `MemoryLock`, or your own). */
  readonly lock: Lock;
  /** Unique per candidate (pod name is typical). */
  readonly identity: string;
  /**
   * Called when a term starts. `signal` aborts the moment leadership is doubtful (renew deadline
   * passed, lease taken, stop): stop all leader-only work then. Errors are logged.
   */
  readonly onStartedLeading: (signal: TermSignal) => void | Promise<void>;
  /** Called when a term ends; `stop()` awaits it before releasing the lease. */
  readonly onStoppedLeading?: (reason: TermEndReason) => void | Promise<void>;
  /** Called when the observed holder changes to a non-empty identity (ourselves included). */
  readonly onNewLeader?: (identity: string) => void;
  /** Clear the holder on `stop()` so others take over at once (default true). */
  readonly releaseOnStop?: boolean;
  /** Time and timers (default {@link systemClock}). */
  readonly clock?: Clock;
  /** Structured logger, pino-compatible (default silent). */
  readonly logger?: Logger;
  /** Metrics hooks (default none). */
  readonly metrics?: ElectionMetrics;
  /** Source of jitter in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
}

interface Term {
  readonly controller: AbortController;
  readonly startedAt: number;
  validUntil: number;
  timer: TimerHandle;
}

type Phase = 'idle' | 'running' | 'stopping' | 'stopped';

const SEEN_VERSIONS = 16;
const ABSENT = '\u0000absent';

/**
 * Lease-based leader election with client-go's semantics and three additions: a term is an
 * `AbortSignal`, a stopping leader releases the lease, and candidates watch the lease so a
 * release is taken within one watch round trip and an expiry at its exact instant.
 *
 * Guarantee: while the hosts' clock rates stay within `maxToleratedDrift()` of real time (20 % at
 * the defaults) and the lock's compare-and-swap holds, `isLeader()` is true on at most one
 * candidate at any instant. A term is valid until `renewDeadlineMs` after the *send* time of the
 * last successful write, and others need `leaseDurationMs` of unchanged observation after that
 * write landed, so the gap is the safety margin. Offsets between host clocks never matter.
 * Not guaranteed: that work you started stops when the signal aborts; a process paused past its
 * deadline runs on until it checks `isLeader()` or its signal. Fence writes if that matters.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: new MemoryLock(),
 *   identity: 'replica-a',
 *   onStartedLeading: (signal) => runControllers(signal),
 *   onNewLeader: (id) => log.info({ leader: id }, 'new leader'),
 * });
 * elector.start();
 * process.on('SIGTERM', () => void elector.stop()); // releases: another replica leads at once
 * ```
 */
export class LeaderElector {
  /** This candidate's identity, as written into the lease. */
  readonly identity: string;
  /** The validated durations in effect. */
  readonly timing: ElectionTiming;
  readonly #lock: Lock;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: ElectionMetrics;
  readonly #random: () => number;
  readonly #opts: LeaderElectorOptions;

  #phase: Phase = 'idle';
  // What we last saw of the record, and since when (our clock) we have seen that version.
  #known: LockState | undefined;
  #knownValid = false;
  #observedAt = 0;
  #knownTag: string | undefined;
  #seen: string[] = [];
  #reportedLeader = '';
  #term: Term | undefined;
  #inFlight: Promise<void> | undefined;
  #rerun = false;
  #retryTimer: TimerHandle | undefined;
  #expiryTimer: TimerHandle | undefined;
  #unwatch: Unsubscribe | undefined;
  #stopping: Promise<void> | undefined;

  /** @throws InvalidOptionsError on bad durations or an empty identity. */
  constructor(options: LeaderElectorOptions) {
    if (typeof options.identity !== 'string' || options.identity === '') {
      throw new InvalidOptionsError(
        'identity',
        'must be a non-empty string unique per candidate (e.g. pod name)',
      );
    }
    if (typeof options.lock?.get !== 'function' || typeof options.lock.update !== 'function') {
      throw new InvalidOptionsError(
        'lock',
        'must implement Lock (KubernetesLeaseLock, MemoryLock or your own)',
      );
    }
    if (typeof options.onStartedLeading !== 'function') {
      throw new InvalidOptionsError('onStartedLeading', 'must be a function');
    }
    this.timing = resolveTiming(options);
    this.identity = options.identity;
    this.#lock = options.lock;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silentLogger;
    this.#metrics = options.metrics ?? {};
    this.#random = options.random ?? Math.random;
    this.#opts = options;
  }

  /** Starts campaigning (once). Use {@link LeaderElector.stop} to end. */
  start(): void {
    if (this.#phase !== 'idle') {
      throw new ElectionError(
        'ERR_ELECTION_ALREADY_STARTED',
        `elector ${this.identity} was already started (electors are single-use: create a new one)`,
      );
    }
    this.#phase = 'running';
    this.#log.info(
      { identity: this.identity, lock: this.#lock.describe(), ...this.timing },
      'election started',
    );
    this.#unwatch = this.#lock.watch?.((state) => this.#onWatch(state));
    this.#kick('start');
  }

  /** True only while the current term is valid (checked against the clock on each call). */
  isLeader(): boolean {
    const term = this.#term;
    return term !== undefined && !term.controller.signal.aborted && this.#clock.now() < term.validUntil;
  }

  /** The signal of the current term, if leading. */
  termSignal(): TermSignal | undefined {
    return this.isLeader() ? (this.#term?.controller.signal as TermSignal | undefined) : undefined;
  }

  /** The holder we last observed (`undefined` when free or unknown). */
  leader(): string | undefined {
    const holder = this.#known?.record.holderIdentity;
    return holder === undefined || holder === '' ? undefined : holder;
  }

  /**
   * Ends the campaign: aborts the term, awaits `onStoppedLeading`, then (unless
   * `releaseOnStop: false`) clears the holder so another candidate takes over at once.
   */
  stop(): Promise<void> {
    if (this.#stopping === undefined) this.#stopping = this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#phase === 'running';
    this.#phase = 'stopping';
    this.#clearTimer('retry');
    this.#clearTimer('expiry');
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (wasRunning) {
      // An acquire in flight may still land; wait (bounded by the request timeout) so we know.
      await this.#inFlight;
      await this.#endTerm('stopped');
      if (this.#opts.releaseOnStop !== false) await this.#release();
    }
    this.#phase = 'stopped';
    this.#log.info({ identity: this.identity }, 'election stopped');
  }

  async #release(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.#knownValid) {
        const state = await this.#op('get', (signal) => this.#lock.get(signal)).catch(() => undefined);
        if (state === undefined) return;
        this.#observe(state);
      }
      const known = this.#known;
      if (known === undefined || known.record.holderIdentity !== this.identity) return;
      try {
        const result = await this.#op('update', (signal) =>
          this.#lock.update(releasedRecord(known.record, this.#nowIso()), known.version, signal),
        );
        this.#observe(result);
        this.#log.info({ identity: this.identity, lock: this.#lock.describe() }, 'released lease');
        return;
      } catch (err) {
        this.#knownValid = false;
        this.#log.warn({ identity: this.identity, err: errorFields(err) }, 'release lease failed');
        if (!(err instanceof LockConflictError)) return;
      }
    }
  }

  // Runs one acquire-or-renew attempt now, or right after the one in flight.
  #kick(trigger: string): void {
    if (this.#phase !== 'running') return;
    if (this.#inFlight !== undefined) {
      this.#rerun = true;
      return;
    }
    this.#clearTimer('retry');
    const sendAt = this.#clock.now();
    this.#inFlight = this.#attempt(trigger)
      .catch((err: unknown) => {
        this.#knownValid = false;
        this.#log.warn({ identity: this.identity, trigger, err: errorFields(err) }, 'lease attempt failed');
      })
      .finally(() => {
        this.#inFlight = undefined;
        if (this.#phase !== 'running') return;
        if (this.#rerun) {
          this.#rerun = false;
          this.#kick('rerun');
        } else {
          this.#scheduleRetry(sendAt);
        }
      });
  }

  #scheduleRetry(lastAttemptAt: number): void {
    const period = this.timing.retryPeriodMs;
    // The leader renews on a fixed period; candidates jitter so they do not collide.
    const interval = this.#term !== undefined ? period : period * (1 + (JITTER_FACTOR - 1) * this.#random());
    const delay = Math.max(0, lastAttemptAt + interval - this.#clock.now());
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick('retry');
    }, delay);
  }

  async #attempt(trigger: string): Promise<void> {
    // Candidates re-read on every retry tick (as client-go does), so a silent or missing watch
    // costs speed, never progress. The leader renews from its own last write's version.
    if (trigger === 'retry' && this.#term === undefined) this.#knownValid = false;
    // Two rounds at most: a conflict means our view is stale; re-read once and decide again.
    for (let round = 0; round < 2; round++) {
      if (!this.#knownValid) {
        const state = await this.#op('get', (signal) => this.#lock.get(signal));
        if (this.#phase !== 'running') return;
        this.#observe(state);
        this.#knownValid = true;
      }
      const known = this.#known;
      const decision = decide({
        state: known,
        observedAtMs: this.#observedAt,
        nowMs: this.#clock.now(),
        identity: this.identity,
        fallbackLeaseDurationMs: this.timing.leaseDurationMs,
      });
      if (decision.action === 'wait') {
        if (this.#term !== undefined) void this.#endTerm('lease-lost');
        this.#armExpiry(decision.expiresAtMs);
        return;
      }
      const record = nextRecord(known?.record, this.identity, this.timing.leaseDurationMs, this.#nowIso());
      const sendAt = this.#clock.now();
      const usedTag = this.#knownTag;
      try {
        const result =
          known === undefined
            ? await this.#op('create', (signal) => this.#lock.create(record, signal))
            : await this.#op('update', (signal) => this.#lock.update(record, known.version, signal));
        this.#metrics.renewLatency?.(this.#clock.now() - sendAt, true);
        this.#observe(result);
        this.#knownValid = true;
        if (this.#phase !== 'running') return;
        if (decision.action !== 'renew') {
          this.#log.info(
            {
              identity: this.identity,
              trigger,
              reason: decision.action === 'acquire' ? decision.reason : 'created',
            },
            'acquired lease',
          );
        }
        this.#extendTerm(sendAt + this.timing.renewDeadlineMs);
        return;
      } catch (err) {
        this.#metrics.renewLatency?.(this.#clock.now() - sendAt, false);
        // After a conflict, a newer state heard from the watch meanwhile is as good as a re-read.
        this.#knownValid = err instanceof LockConflictError && this.#knownTag !== usedTag;
        if (!(err instanceof LockConflictError) || this.#phase !== 'running') throw err;
        this.#log.debug({ identity: this.identity, trigger }, 'lease write conflict, re-reading');
      }
    }
  }

  #extendTerm(validUntil: number): void {
    const now = this.#clock.now();
    // A write that took longer than the renew deadline proves nothing about the present.
    if (now >= validUntil) return;
    const term = this.#term;
    if (term !== undefined) {
      term.validUntil = validUntil;
      this.#clock.clearTimeout(term.timer);
      term.timer = this.#clock.setTimeout(() => void this.#endTerm('renew-deadline'), validUntil - now);
      return;
    }
    this.#clearTimer('expiry');
    const controller = new AbortController();
    this.#term = {
      controller,
      startedAt: now,
      validUntil,
      timer: this.#clock.setTimeout(() => void this.#endTerm('renew-deadline'), validUntil - now),
    };
    this.#log.info({ identity: this.identity, validUntil }, 'started leading');
    this.#metrics.transition?.({ identity: this.identity, leading: true, reason: 'acquired', atMs: now });
    this.#callback('onStartedLeading', () => this.#opts.onStartedLeading(controller.signal as TermSignal));
  }

  async #endTerm(reason: TermEndReason): Promise<void> {
    const term = this.#term;
    if (term === undefined) return;
    this.#term = undefined;
    this.#clock.clearTimeout(term.timer);
    const now = this.#clock.now();
    term.controller.abort(new LeadershipLostError(reason, `leadership of ${this.identity} ended: ${reason}`));
    const fields = { identity: this.identity, reason, termMs: now - term.startedAt };
    if (reason === 'stopped') this.#log.info(fields, 'stopped leading');
    else this.#log.warn(fields, 'stopped leading');
    this.#metrics.transition?.({ identity: this.identity, leading: false, reason, atMs: now });
    this.#metrics.termDuration?.(now - term.startedAt);
    // Campaigning goes on meanwhile (a retry timer or an attempt is always pending while
    // running); only stop() waits for the callback, so the release follows the cleanup.
    const onStopped = this.#opts.onStoppedLeading;
    if (onStopped !== undefined) await this.#callback('onStoppedLeading', () => onStopped(reason));
  }

  #onWatch(state: LockState | undefined): void {
    if (this.#phase !== 'running') return;
    if (!this.#observe(state)) return;
    this.#knownValid = true;
    const holder = state?.record.holderIdentity;
    if (this.#term !== undefined && holder !== this.identity) {
      void this.#endTerm('lease-lost');
    }
    if (state === undefined || holder === '') {
      this.#kick(state === undefined ? 'watch-deleted' : 'watch-released');
    }
  }

  // Records a state we received; returns false when it is no news (same version, or an older
  // version already superseded, e.g. a late watch event after our own write's response).
  #observe(state: LockState | undefined): boolean {
    const tag = state === undefined ? ABSENT : state.version;
    if (tag === this.#knownTag) return false;
    if (state !== undefined && this.#seen.includes(state.version)) return false;
    if (state !== undefined) {
      this.#seen.push(state.version);
      if (this.#seen.length > SEEN_VERSIONS) this.#seen.shift();
    }
    this.#knownTag = tag;
    this.#known = state;
    this.#observedAt = this.#clock.now();
    const holder = state?.record.holderIdentity ?? '';
    if (holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      if (holder !== '') {
        this.#log.info({ identity: this.identity, leader: holder }, 'new leader observed');
        this.#callback('onNewLeader', () => this.#opts.onNewLeader?.(holder));
      }
    }
    if (state !== undefined && holder !== '' && holder !== this.identity && this.#phase === 'running') {
      this.#armExpiry(this.#observedAt + recordLeaseDurationMs(state.record, this.timing.leaseDurationMs));
    }
    return true;
  }

  // Acts on expiry at the exact instant instead of at the next retry tick.
  #armExpiry(atMs: number): void {
    this.#clearTimer('expiry');
    if (this.#phase !== 'running') return;
    this.#expiryTimer = this.#clock.setTimeout(
      () => {
        this.#expiryTimer = undefined;
        this.#kick('expired');
      },
      Math.max(0, atMs - this.#clock.now()),
    );
  }

  #clearTimer(which: 'retry' | 'expiry'): void {
    const handle = which === 'retry' ? this.#retryTimer : this.#expiryTimer;
    if (handle !== undefined) this.#clock.clearTimeout(handle);
    if (which === 'retry') this.#retryTimer = undefined;
    else this.#expiryTimer = undefined;
  }

  // One lock call bounded by the request timeout on our clock (locks may ignore the signal).
  #op<T>(op: 'get' | 'create' | 'update', run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const timeoutMs = this.timing.requestTimeoutMs;
    return withClockTimeout(
      this.#clock,
      timeoutMs,
      () => new LockTimeoutError(`${op} ${this.#lock.describe()} timed out after ${timeoutMs} ms`),
      run,
    ).catch((err: unknown) => {
      this.#metrics.lockError?.(op, err instanceof ElectionError ? err.code : 'ERR_UNKNOWN');
      throw err;
    });
  }

  #callback(name: string, fn: () => unknown): Promise<void> {
    try {
      return Promise.resolve(fn()).then(
        () => undefined,
        (err: unknown) =>
          this.#log.error({ identity: this.identity, err: errorFields(err) }, `${name} failed`),
      );
    } catch (err) {
      this.#log.error({ identity: this.identity, err: errorFields(err) }, `${name} failed`);
      return Promise.resolve();
    }
  }

  #nowIso(): string {
    return toMicroTime(this.#clock.now());
  }
}
