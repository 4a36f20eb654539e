/**
 * Lease-based leader election for TypeScript operators: client-go semantics (observed-time
 * expiry, renew deadline), a term as an `AbortSignal`, release on stop, watch-driven handover,
 * and virtual time for tests.
 *
 * Entry points: this one (elector, locks' interface, MemoryLock, the pure `decide`), `./kubernetes`
 * (the Lease lock, typed against `@kubernetes/client-node`) and `./testing` (`ManualClock`).
 *
 * @packageDocumentation
 */
export { type Clock, sleep, systemClock, type TimerHandle } from './clock.js';
export { type DecideInput, type Decision, decide } from './decide.js';
export {
  ElectionError,
  type ElectionErrorCode,
  InvalidOptionsError,
  LeadershipLostError,
  LockConflictError,
  LockTimeoutError,
  LockUnavailableError,
  type TermEndReason,
} from './errors.js';
export { LeaderElector, type LeaderElectorOptions, type TermSignal } from './leader-elector.js';
export type { LeaseRecord, Lock, LockState, Unsubscribe } from './lock.js';
export { type ElectionMetrics, type LogFields, type Logger, silentLogger } from './logger.js';
export { MemoryLock, type MemoryLockOptions } from './memory-lock.js';
export { DEFAULT_TIMING, type ElectionTiming, maxToleratedDrift, resolveTiming } from './options.js';
