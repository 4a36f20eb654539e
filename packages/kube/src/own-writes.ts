import { type KubeObject, objectKey } from './informer.js';
import { resourceVersionAtLeast } from './resource-version.js';

/** What {@link OwnWrites} reads the delivered objects from (an `Informer`). */
export interface ObjectCache<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
}

/**
 * Read-your-writes over an informer: objects this process wrote (or read fresh from the API) that
 * the informer has not delivered yet. Reads return the newer of the informer's copy and the own
 * copy, by resourceVersion; an own copy is dropped as soon as the informer holds that version or a
 * newer one, so the informer is the source again. A reconcile that starts from its own last writes
 * does not redo (and re-announce) a change against a stale cache.
 *
 * Only objects the informer holds are listed: an own copy of an object the informer does not (or
 * no longer) hold is dropped by {@link OwnWrites.list}, so a deleted object is not brought back.
 *
 * @example
 * ```ts
 * const gateways = new OwnWrites(gatewayInformer);
 * const written = await client.patchStatus(EGRESS_GATEWAYS, 'egw1', undefined, patch);
 * gateways.record(written);
 * gateways.get('egw1'); // `written` until the informer delivers it (or something newer)
 * ```
 */
export class OwnWrites<T extends KubeObject> {
  private readonly own = new Map<string, T>();

  constructor(private readonly cache: ObjectCache<T>) {}

  /** Number of own copies still ahead of the informer. */
  get size(): number {
    return this.own.size;
  }

  /** Remembers an object as returned by the API (a write's response, or a fresh read). */
  record(obj: T): void {
    this.own.set(objectKey(obj), obj);
  }

  /** The newer of the informer's and the own copy of `key` (`name` or `namespace/name`). */
  get(key: string): T | undefined {
    const cached = this.cache.get(key);
    return this.own.size === 0 ? cached : this.newer(key, cached);
  }

  /** The informer's objects, each replaced by the own copy where that is newer. */
  list(): T[] {
    const list = this.cache.list();
    // Runs on every reconcile over every object: no per-object lookups when nothing is pending.
    if (this.own.size === 0) return list;
    const seen = new Set<string>();
    const out = list.map((o) => {
      const key = objectKey(o);
      seen.add(key);
      return this.newer(key, o) ?? o;
    });
    for (const key of this.own.keys()) if (!seen.has(key)) this.own.delete(key);
    return out;
  }

  private newer(key: string, cached: T | undefined): T | undefined {
    const own = this.own.get(key);
    if (!own) return cached;
    if (cached && resourceVersionAtLeast(cached.metadata?.resourceVersion, own.metadata?.resourceVersion)) {
      this.own.delete(key);
      return cached;
    }
    return own;
  }
}
