/**
 * The content of a lease, the same fields as `coordination.k8s.io/v1` Lease `spec` (durations
 * in milliseconds here). Timestamps are informational for humans: the election never compares
 * them with its own clock.
 */
export interface LeaseRecord {
  /** Identity of the holder; `''` means free (released). */
  readonly holderIdentity: string;
  /** How long others must see the record unchanged before they may take it. */
  readonly leaseDurationMs: number;
  /** ISO-8601 instant with microseconds, written by the holder when it acquired. */
  readonly acquireTime: string;
  /** ISO-8601 instant with microseconds, written by the holder at each renewal. */
  readonly renewTime: string;
  /** Number of times the holder changed. */
  readonly leaseTransitions: number;
}

/** A record with the version the store gave it (Kubernetes `resourceVersion`). */
export interface LockState {
  readonly record: LeaseRecord;
  /** Opaque; changes on every write. Compare for equality only. */
  readonly version: string;
}

/** Cancels a watch. */
export type Unsubscribe = () => void;

/**
 * A store holding one lease record with compare-and-swap writes. Implementations:
 * {@link MemoryLock} and `KubernetesLeaseLock`.
 *
 * Contract: `update` succeeds only when `version` is still the current version, and every
 * successful write produces a new version. Errors are `LockConflictError` (CAS lost),
 * `LockUnavailableError` or `LockTimeoutError` (outcome unknown: the write may have landed).
 */
export interface Lock {
  /** Human-readable name for logs, e.g. `lease kube-system/egressgateway-controller`. */
  describe(): string;
  /** Reads the record; `undefined` when it does not exist. */
  get(signal: AbortSignal): Promise<LockState | undefined>;
  /** Creates the record; `LockConflictError` when it already exists. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<LockState>;
  /** Replaces the record if its version is still `version`; `LockConflictError` otherwise. */
  update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<LockState>;
  /**
   * Optional: calls `listener` with each new state (and `undefined` on deletion), starting with
   * the current one when available. An optimisation only: the election stays correct without it.
   */
  watch?(listener: (state: LockState | undefined) => void): Unsubscribe;
}

/** Formats epoch milliseconds as an RFC 3339 instant with exactly six fractional digits. */
export function toMicroTime(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  const micros = Math.min(999, Math.max(0, Math.round((epochMs - wholeMs) * 1000)));
  return `${new Date(wholeMs).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}
