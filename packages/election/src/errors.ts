/** Stable machine-readable codes of every error this package throws or aborts with. */
export type ElectionErrorCode =
  | 'ERR_ELECTION_INVALID_OPTIONS'
  | 'ERR_ELECTION_LOCK_CONFLICT'
  | 'ERR_ELECTION_LOCK_UNAVAILABLE'
  | 'ERR_ELECTION_LOCK_TIMEOUT'
  | 'ERR_ELECTION_LEADERSHIP_LOST'
  | 'ERR_ELECTION_ALREADY_STARTED'
  | 'ERR_ELECTION_PEER_MISSING';

/** Base class: every error of this package has a stable `code`. */
export class ElectionError extends Error {
  readonly code: ElectionErrorCode;
  constructor(code: ElectionErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option is out of range; `field` names it and the message says how to fix it. */
export class InvalidOptionsError extends ElectionError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_ELECTION_INVALID_OPTIONS', `${field}: ${message}`);
    this.field = field;
  }
}

/**
 * A compare-and-swap lost: the lock record changed since it was read (HTTP 409 Conflict), or a
 * create found it already there (409 AlreadyExists). Expected under contention, not a fault.
 */
export class LockConflictError extends ElectionError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_ELECTION_LOCK_CONFLICT', message, options);
  }
}

/** The lock store could not be reached or answered with a server error; the outcome is unknown. */
export class LockUnavailableError extends ElectionError {
  /** HTTP status when there was one. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super('ERR_ELECTION_LOCK_UNAVAILABLE', message, options);
    this.status = status;
  }
}

/** A lock operation took longer than allowed; it may still have been applied. */
export class LockTimeoutError extends ElectionError {
  constructor(message: string) {
    super('ERR_ELECTION_LOCK_TIMEOUT', message);
  }
}

/** Why a leadership term ended. */
export type TermEndReason = 'renew-deadline' | 'lease-lost' | 'stopped';

/** The `reason` of an aborted term signal. */
export class LeadershipLostError extends ElectionError {
  readonly reason: TermEndReason;
  constructor(reason: TermEndReason, message: string) {
    super('ERR_ELECTION_LEADERSHIP_LOST', message);
    this.reason = reason;
  }
}

/** Log fields describing any thrown value (internal). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof ElectionError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { value: String(err) };
}
