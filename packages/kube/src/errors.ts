/**
 * An error answered by the Kubernetes API (a `Status` body), with its HTTP code and reason.
 * `code` of the class is stable for matching; `status` is the HTTP status.
 */
export class KubeApiError extends Error {
  readonly code = 'EGW_KUBE_API';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

interface MaybeApiException {
  code?: unknown;
  statusCode?: unknown;
  body?: unknown;
  message?: unknown;
}

/**
 * Normalises what client-node throws (`ApiException` with `.code` and a JSON string `.body`, or a
 * watch `Error` with `.statusCode`, or a network error) into a {@link KubeApiError}; network
 * errors get status 0.
 */
export function toKubeApiError(err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = (err ?? {}) as MaybeApiException;
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : 0;
  let reason = status === 0 ? 'NetworkError' : 'Unknown';
  let message = typeof e.message === 'string' ? e.message : String(err);
  let body: unknown = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON: keep the text in the message below
    }
  }
  if (body && typeof body === 'object') {
    const b = body as { reason?: unknown; message?: unknown };
    if (typeof b.reason === 'string') reason = b.reason;
    if (typeof b.message === 'string') message = b.message;
  }
  return new KubeApiError(status, reason, message, err);
}

/** True for 409 Conflict (a stale resourceVersion). */
export const isConflict = (err: unknown): boolean => toKubeApiError(err).status === 409;
/** True for 404 NotFound. */
export const isNotFound = (err: unknown): boolean => toKubeApiError(err).status === 404;
/** True for 410 Gone (watch resourceVersion too old: relist). */
export const isGone = (err: unknown): boolean => toKubeApiError(err).status === 410;
