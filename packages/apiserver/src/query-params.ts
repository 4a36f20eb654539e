import { ApiError, type StatusBody } from './errors.js';

/**
 * A boolean query parameter read as kube-apiserver's parameter codec reads it: absent, `false`
 * (any case) and `0` are false; every other value, the empty string included, is true. So
 * `watch=maybe` is a watch there, and here.
 */
export function queryBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** Go's `strconv.ParseUint` / `ParseInt` error text, which the real server puts in its messages. */
function goParseError(fn: 'ParseUint' | 'ParseInt', v: string): string {
  return `strconv.${fn}: parsing ${JSON.stringify(v)}: invalid syntax`;
}

/**
 * The `resourceVersion` parameter: `undefined` when absent or empty, otherwise an unsigned
 * decimal integer (`0` included). Anything else (`abc`, `-1`, `1.5`) is 400 BadRequest with
 * `resourceVersion: Invalid value: "abc": strconv.ParseUint: ...`, the real server's text.
 */
export function queryResourceVersion(q: URLSearchParams): number | undefined {
  const v = q.get('resourceVersion');
  if (v === null || v === '') return undefined;
  const n = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw ApiError.badRequest(
      `resourceVersion: Invalid value: ${JSON.stringify(v)}: ${goParseError('ParseUint', v)}`,
    );
  return n;
}

/** `timeoutSeconds`: undefined when absent or empty; a non-integer is 400 BadRequest. */
export function queryTimeoutSeconds(q: URLSearchParams): number | undefined {
  const v = q.get('timeoutSeconds');
  if (v === null || v === '') return undefined;
  if (!/^[-+]?[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw ApiError.badRequest(
      `timeoutSeconds: Invalid value: ${JSON.stringify(v)}: ${goParseError('ParseInt', v)}`,
    );
  return Number(v);
}

/**
 * ListOptions checks of kube-apiserver for a list (not a watch): `resourceVersionMatch` must be
 * `Exact` or `NotOlderThan`, needs a `resourceVersion`, is refused with `continue`, and `Exact`
 * is refused for `0`. Failures are 422 Invalid on `ListOptions.meta.k8s.io`, as there.
 */
export function checkListOptions(q: URLSearchParams): void {
  const match = q.get('resourceVersionMatch') ?? '';
  if (match === '') return;
  const rv = q.get('resourceVersion') ?? '';
  const causes: { reason: string; message: string; field: string }[] = [];
  const forbid = (message: string) =>
    causes.push({
      reason: 'FieldValueForbidden',
      message: `Forbidden: ${message}`,
      field: 'resourceVersionMatch',
    });
  if (rv === '') forbid('resourceVersionMatch is forbidden unless resourceVersion is provided');
  if ((q.get('continue') ?? '') !== '') forbid('resourceVersionMatch is forbidden when continue is provided');
  if (match !== 'Exact' && match !== 'NotOlderThan')
    causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""`,
      field: 'resourceVersionMatch',
    });
  if (match === 'Exact' && rv === '0')
    forbid('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  if (causes.length > 0) throw ApiError.invalid('meta.k8s.io', 'ListOptions', '', causes);
}

/**
 * 504 for a get or list at a resourceVersion the server has not reached, as kube-apiserver answers
 * once its wait for the watch cache runs out: reason `Timeout`, a `ResourceVersionTooLarge` cause
 * and `retryAfterSeconds: 1`. This server has no cache to wait for: it answers at once.
 */
export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  const details = {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  } as unknown as StatusBody['details'];
  return new ApiError(
    504,
    'Timeout',
    `Too large resource version: ${requested}, current: ${current}`,
    details,
  );
}

/** 422 on PatchOptions: an apply patch needs a `fieldManager`, as kube-apiserver requires. */
export function checkApplyFieldManager(q: URLSearchParams, contentType: string): void {
  if ((contentType.split(';')[0] ?? '').trim().toLowerCase() !== 'application/apply-patch+yaml') return;
  if ((q.get('fieldManager') ?? '') !== '') return;
  throw ApiError.invalid('meta.k8s.io', 'PatchOptions', '', [
    {
      reason: 'FieldValueRequired',
      message: 'Required value: is required for apply patch',
      field: 'fieldManager',
    },
  ]);
}

/**
 * 422 on DeleteOptions for a `propagationPolicy` (query or body) other than `Foreground`,
 * `Background` or `Orphan`: the real server refuses it instead of deleting.
 */
export function checkPropagationPolicy(q: URLSearchParams, body: unknown): void {
  const fromBody =
    typeof body === 'object' && body !== null
      ? (body as { propagationPolicy?: unknown }).propagationPolicy
      : undefined;
  for (const p of [q.get('propagationPolicy'), fromBody]) {
    if (p === null || p === undefined || p === 'Foreground' || p === 'Background' || p === 'Orphan') continue;
    throw ApiError.invalid('meta.k8s.io', 'DeleteOptions', '', [
      {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(p)}: supported values: "Foreground", "Background", "Orphan", "nil"`,
        field: 'propagationPolicy',
      },
    ]);
  }
}
