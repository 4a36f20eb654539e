/**
 * The one failure convention of this package: a function that turns text (or untrusted data) into a
 * value returns a {@link Result}; it never throws and never returns `null`/`undefined` for "bad input".
 * The `…OrThrow` variants are for code that handles input already validated elsewhere (the kernel side
 * of the datapath): they throw {@link NetaddrError}.
 */

/** A successful parse: `value` holds the result. */
export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

/** A failed parse: `error` says what is wrong with the input and how to write it. */
export interface Err {
  readonly ok: false;
  readonly error: string;
}

/**
 * Outcome of every parse function of this package.
 *
 * @example
 * ```ts
 * const r = parseIp('fd00::1%eth0');
 * if (!r.ok) console.log(r.error); // "fd00::1%eth0" has a zone index (%eth0): ...
 * ```
 */
export type Result<T> = Ok<T> | Err;

/** Builds an {@link Ok}. */
export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/** Builds an {@link Err}. */
export function err(error: string): Err {
  return { ok: false, error };
}

/** Stable codes of {@link NetaddrError}. */
export type NetaddrErrorCode = 'ERR_NETADDR_INVALID';

/** Thrown by the `…OrThrow` variants when the input does not parse; `message` is the {@link Err} text. */
export class NetaddrError extends Error {
  /** Stable code, for callers that map errors. */
  readonly code: NetaddrErrorCode = 'ERR_NETADDR_INVALID';
  /** The text that did not parse. */
  readonly input: string;

  constructor(message: string, input: string) {
    super(message);
    this.name = 'NetaddrError';
    this.input = input;
  }
}

/** Returns the value of a result or throws {@link NetaddrError} with its message. */
export function unwrap<T>(result: Result<T>, input: string): T {
  if (result.ok) return result.value;
  throw new NetaddrError(result.error, input);
}
