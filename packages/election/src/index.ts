/**
 * Lease-based leader election for TypeScript operators: client-go semantics (observed-time
 * expiry, renew deadline), a term as an `AbortSignal`, release on stop, watch-driven handover,
 * and virtual time for tests.
 *
 * @packageDocumentation
 */
export { type Clock, clockTimeout, sleep, systemClock, type TimerHandle, withClockTimeout } from './clock.js';
export {
  type DecideInput,
  type Decision,
  decide,
  nextRecord,
  recordLeaseDurationMs,
  releasedRecord,
} from './decide.js';
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
export {
  fromLease,
  KubernetesLeaseLock,
  type KubernetesLeaseLockOptions,
  type LeaseApi,
  type LeaseMiddlewareStep,
  type LeaseRequestOptions,
  type LeaseWatch,
} from './kubernetes-lease-lock.js';
export { LeaderElector, type LeaderElectorOptions } from './leader-elector.js';
export { type LeaseRecord, type Lock, type LockState, toMicroTime, type Unsubscribe } from './lock.js';
export { type ElectionMetrics, type LogFields, type Logger, silentLogger } from './logger.js';
export { flushMicrotasks, ManualClock } from './manual-clock.js';
export { MemoryLock, type MemoryLockOptions } from './memory-lock.js';
export {
  DEFAULT_TIMING,
  type ElectionTiming,
  JITTER_FACTOR,
  maxToleratedDrift,
  resolveTiming,
} from './options.js';
