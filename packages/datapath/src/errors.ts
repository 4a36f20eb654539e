/**
 * Stable error codes of the datapath package. Callers switch on `code`, never on messages.
 */
export type DatapathErrorCode = 'INVALID_STATE' | 'NETLINK' | 'NFT' | 'INTERFACE_NOT_FOUND' | 'UNSUPPORTED';

/**
 * Base class of every error this package throws.
 *
 * @example
 * ```ts
 * try { await binder.apply(state); } catch (e) { if (e instanceof DatapathError) log.error({ code: e.code }, e.message); }
 * ```
 */
export class DatapathError extends Error {
  /** Stable machine-readable code. */
  readonly code: DatapathErrorCode;
  constructor(code: DatapathErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatapathError';
    this.code = code;
  }
}

/** The desired state is malformed; `path` names the offending field (e.g. `steering[3].mark`). */
export class InvalidStateError extends DatapathError {
  /** Field path of the offending value. */
  readonly path: string;
  constructor(path: string, message: string) {
    super('INVALID_STATE', `${path}: ${message}`);
    this.name = 'InvalidStateError';
    this.path = path;
  }
}

/** A netlink request was rejected; `errno` is the kernel's symbolic error (`EEXIST`, `ENOENT`, ...). */
export class NetlinkError extends DatapathError {
  /** Symbolic errno from the kernel, or `UNKNOWN`. */
  readonly errno: string;
  constructor(operation: string, errno: string, options?: { cause?: unknown }) {
    super('NETLINK', `${operation}: ${errno}`, options);
    this.name = 'NetlinkError';
    this.errno = errno;
  }
}

/** `nft` exited non-zero; `stderr` carries its diagnostics. */
export class NftError extends DatapathError {
  /** Standard error output of `nft`. */
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super('NFT', `${message}: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    this.name = 'NftError';
    this.stderr = stderr;
  }
}

/**
 * The netlink package reports kernel errors as plain `Error('Request rejected: EEXIST')`.
 * This is the one place that turns them into a typed error with the symbolic errno.
 */
export function toNetlinkError(operation: string, err: unknown): NetlinkError {
  const message = err instanceof Error ? err.message : String(err);
  const match = /\b(E[A-Z0-9]+)\b/.exec(message);
  return new NetlinkError(operation, match?.[1] ?? 'UNKNOWN', { cause: err });
}
