/** One problem with an object: where (a field path like `spec.ippools.ipv4DefaultEIP`) and what to do. */
export interface ValidationError {
  readonly path: string;
  readonly message: string;
}

/** A problem found by looking at several objects together; `object` is `Kind/name` or `Kind/ns/name`. */
export interface CrossObjectError extends ValidationError {
  readonly object: string;
}

/** Result of a validation: the typed value, or every problem found. */
export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: ValidationError[] };

/** Thrown by {@link assertValid}; carries every problem with its field path. */
export class ResourceValidationError extends Error {
  readonly code = 'EGW_INVALID_RESOURCE';
  constructor(
    readonly resource: string,
    readonly errors: readonly ValidationError[],
  ) {
    super(`${resource} is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
    this.name = 'ResourceValidationError';
  }
}

/** Joins a parent path and a child key the way Kubernetes prints field paths. */
export function joinPath(parent: string, child: string | number): string {
  if (typeof child === 'number') return `${parent}[${child}]`;
  return parent === '' ? child : `${parent}.${child}`;
}
