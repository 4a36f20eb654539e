import type { KubeObject, WatchEventType } from './types.js';

/**
 * One committed change. The same event object is handed to every watcher (no per-watcher
 * copy); `line` memoises its wire form so a fan-out to N watchers serialises it once.
 */
export interface StoredEvent {
  readonly type: WatchEventType;
  /** The resourceVersion this change was committed at. */
  readonly rv: number;
  readonly storageKey: string;
  /** The object after the change (for DELETED: the last state, with the deletion's resourceVersion). */
  readonly object: KubeObject;
  /** The object before the change (undefined for ADDED): lets selector-filtered watches see objects leave. */
  readonly prev: KubeObject | undefined;
  /** Memoised `{"type":…,"object":…}\n`, filled by the first writer that needs it. */
  line?: string;
}

/** Result of asking for the events after a resourceVersion. */
export type EventsSince = { ok: true; events: StoredEvent[] } | { ok: false; oldestRv: number };

/**
 * The storage engine behind the API server: a versioned key-value store of JSON objects with a
 * watch log. The HTTP layer only talks to this interface, so the in-memory engine can be replaced.
 *
 * Contract: every write gets the next resourceVersion of one server-wide counter; a write that
 * returns has been journalled (if the engine is durable); stored objects are immutable and are
 * shared with callers, who must copy before changing them.
 */
export interface Storage {
  /** The latest committed resourceVersion. */
  currentRv(): number;
  /** One object, or undefined. */
  get(storageKey: string, namespace: string, name: string): KubeObject | undefined;
  /** Objects of a resource, optionally in one namespace, sorted by namespace then name. */
  list(storageKey: string, namespace?: string): KubeObject[];
  /** Number of objects of a resource. */
  count(storageKey: string): number;
  /**
   * Creates or replaces an object. The engine stamps `metadata.resourceVersion` on a copy and
   * returns the stored copy.
   */
  put(storageKey: string, object: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject;
  /** Removes an object; returns its final state stamped with the deletion's resourceVersion. */
  remove(storageKey: string, object: KubeObject): KubeObject;
  /** Events of one resource committed after `rv`, or the oldest resourceVersion still retained. */
  eventsSince(storageKey: string, rv: number): EventsSince;
  /** Calls `listener` synchronously for each event committed from now on; returns an unsubscribe. */
  subscribe(storageKey: string, listener: (e: StoredEvent) => void): () => void;
  /** Storage keys that hold at least one object. */
  keys(): string[];
  /** Releases files and other resources. */
  close(): void;
}

/** `namespace/name` (or `name` for cluster-scoped objects): the key inside one resource. */
export function objectKey(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}
