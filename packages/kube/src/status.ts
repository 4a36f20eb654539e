import type { KubeClient } from './client.js';
import { isConflict, isNotFound } from './errors.js';
import type { KubeObject } from './informer.js';
import type { ResourceRef } from './resources.js';

/** Result of {@link updateStatus}. */
export type StatusUpdateResult<T> =
  | { written: true; object: T; attempts: number }
  | { written: false; reason: 'unchanged' | 'not-found'; attempts: number };

/**
 * Writes a status change computed from the current object, with optimistic concurrency: the
 * merge patch carries the resourceVersion it was computed from; on 409 Conflict the object is
 * read again and the change recomputed (up to `maxAttempts`). `compute` returns `undefined`
 * when nothing needs writing, so nothing is sent.
 *
 * @example
 * await updateStatus(client, EGRESS_GATEWAYS, 'egw1', undefined, cached, (gw) =>
 *   sameNodeList(gw, next) ? undefined : { nodeList: next });
 */
export async function updateStatus<T extends KubeObject & { status?: unknown }>(
  client: KubeClient,
  ref: ResourceRef,
  name: string,
  namespace: string | undefined,
  current: T | undefined,
  compute: (current: T) => object | undefined,
  maxAttempts = 5,
): Promise<StatusUpdateResult<T>> {
  let obj = current;
  for (let attempt = 1; ; attempt++) {
    if (!obj) {
      try {
        obj = await client.get<T>(ref, name, namespace);
      } catch (err) {
        if (isNotFound(err)) return { written: false, reason: 'not-found', attempts: attempt };
        throw err;
      }
    }
    const status = compute(obj);
    if (status === undefined) return { written: false, reason: 'unchanged', attempts: attempt };
    const patch = { metadata: { resourceVersion: obj.metadata?.resourceVersion }, status };
    try {
      const written = await client.patchStatus<T>(ref, name, namespace, patch);
      return { written: true, object: written, attempts: attempt };
    } catch (err) {
      if (isNotFound(err)) return { written: false, reason: 'not-found', attempts: attempt };
      if (!isConflict(err) || attempt >= maxAttempts) throw err;
      obj = undefined;
    }
  }
}
