/** One field-level cause inside a `Status` body (422 Invalid and friends). */
export interface StatusCause {
  reason: string;
  message: string;
  field: string;
}

/** The Kubernetes `Status` object returned for every error. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
  };
  code: number;
}

/** Identifies the resource an error is about (plural for 404/409, Kind for 422, as the real server does). */
export interface ErrorTarget {
  group: string;
  /** Resource plural, e.g. `widgets`. */
  resource: string;
  name: string;
}

/**
 * An error the API answers with a Kubernetes `Status` body. `code` is the stable machine-readable
 * reason (`NotFound`, `Conflict`, ...), `httpStatus` the HTTP code.
 *
 * @example
 * ```ts
 * throw ApiError.notFound({ group: 'example.com', resource: 'widgets', name: 'w1' });
 * ```
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    readonly details?: StatusBody['details'],
  ) {
    super(message);
  }

  /** The `Status` body for this error. */
  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.code,
      code: this.httpStatus,
    };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }

  /** 404 `<resource>.<group> "<name>" not found`. */
  static notFound(t: ErrorTarget): ApiError {
    return new ApiError(404, 'NotFound', `${qualified(t)} "${t.name}" not found`, details(t));
  }

  /** 409 `... already exists`. */
  static alreadyExists(t: ErrorTarget): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualified(t)} "${t.name}" already exists`, details(t));
  }

  /** 409 optimistic-concurrency conflict. */
  static conflict(
    t: ErrorTarget,
    why = 'the object has been modified; please apply your changes to the latest version and try again',
  ): ApiError {
    return new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(t)} "${t.name}": ${why}`,
      details(t),
    );
  }

  /** 422 Invalid with field causes; `kind` is the Kind (not the plural), as the real server reports it. */
  static invalid(group: string, kind: string, name: string, causes: StatusCause[]): ApiError {
    const gk = group === '' ? kind : `${kind}.${group}`;
    const parts = causes.map((c) => (c.field === '' ? c.message : `${c.field}: ${c.message}`));
    const joined = parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
    const d: NonNullable<StatusBody['details']> = { name, kind, causes };
    if (group !== '') d.group = group;
    return new ApiError(422, 'Invalid', `${gk} "${name}" is invalid: ${joined}`, d);
  }

  /** 400 BadRequest. */
  static badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  }

  /** 410 Expired (too old resource version). */
  static gone(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  }

  /** 405 MethodNotAllowed. */
  static methodNotAllowed(): ApiError {
    return new ApiError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }

  /** 415 UnsupportedMediaType. */
  static unsupportedMediaType(accepted: string[]): ApiError {
    return new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    );
  }

  /** 413 RequestEntityTooLarge. */
  static tooLarge(limit: number): ApiError {
    return new ApiError(413, 'RequestEntityTooLarge', `the request body is larger than ${limit} bytes`);
  }

  /** 403 Forbidden with kube-apiserver's RBAC message. */
  static forbidden(message: string, details?: StatusBody['details']): ApiError {
    return new ApiError(403, 'Forbidden', message, details);
  }

  /** 401 Unauthorized. */
  static unauthorized(): ApiError {
    return new ApiError(401, 'Unauthorized', 'Unauthorized');
  }

  /** 404 for a path the server does not serve at all. */
  static pathNotFound(): ApiError {
    return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }

  /** 500 InternalError. */
  static internal(message: string): ApiError {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
  }
}

function qualified(t: ErrorTarget): string {
  return t.group === '' ? t.resource : `${t.resource}.${t.group}`;
}

function details(t: ErrorTarget): NonNullable<StatusBody['details']> {
  return t.group === ''
    ? { name: t.name, kind: t.resource }
    : { name: t.name, group: t.group, kind: t.resource };
}
