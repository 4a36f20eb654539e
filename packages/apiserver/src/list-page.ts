import { ApiError } from './errors.js';
import { type FieldRequirement, type LabelRequirement, matchFields, matchLabels } from './selectors.js';
import type { KubeObject } from './types.js';

/** True when an object satisfies label and field selectors. */
export function matchesSelectors(
  o: KubeObject,
  labels: readonly LabelRequirement[],
  fields: readonly FieldRequirement[],
): boolean {
  return (
    (labels.length === 0 || matchLabels(labels, o.metadata.labels)) &&
    (fields.length === 0 || matchFields(fields, o))
  );
}

/** The sort key of an object in a list: `namespace/name`, or `name` for cluster-scoped objects. */
export function listKey(o: KubeObject): string {
  const ns = o.metadata.namespace ?? '';
  return ns === '' ? (o.metadata.name ?? '') : `${ns}/${o.metadata.name ?? ''}`;
}

/** Opaque `continue` token: the list resumes after this key. */
export function encodeContinue(afterKey: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after: afterKey })).toString('base64url');
}

/** Reads a `continue` token; 400 BadRequest when it is not one of ours. */
export function decodeContinue(token: string): string {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: number; after?: unknown };
    if (t.v === 1 && typeof t.after === 'string') return t.after;
  } catch {
    // fall through to the error below
  }
  throw ApiError.badRequest('continue key is not valid: invalid continue token');
}
