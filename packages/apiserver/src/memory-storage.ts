import type { Journal, JournalRecord } from './journal.js';
import { type EventsSince, objectKey, type Storage, type StoredEvent } from './storage.js';
import type { KubeObject } from './types.js';

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Events retained per resource for watch resume; older resourceVersions get 410 Gone. Default 10,000. */
  windowSize?: number;
  /**
   * Bound on the JSON size of the events retained per resource; the oldest are evicted beyond it
   * (a watch from before them gets 410 Gone). The newest event is always kept, even when it alone
   * is larger. Default 64 MiB.
   */
  windowBytes?: number;
  /** Optional write-ahead journal; a write is applied only after the journal accepted it. */
  journal?: Journal;
}

class EventWindow {
  events: StoredEvent[] = [];
  start = 0;
  /** resourceVersion of the newest evicted event; a watch from below it has lost events. */
  compactedRv = 0;
  /** JSON size of the retained events' objects (UTF-16 code units; what the byte bound limits). */
  bytes = 0;
  private readonly sizes: number[] = [];

  constructor(
    private readonly size: number,
    private readonly maxBytes: number,
  ) {}

  push(e: StoredEvent): void {
    const b = JSON.stringify(e.object).length;
    this.events.push(e);
    this.sizes.push(b);
    this.bytes += b;
    // The newest event always stays: it carries the current resourceVersion into a compacted
    // journal (one object is at most the body limit, so the bound is exceeded by one at most).
    while (
      this.events.length - this.start > 1 &&
      (this.events.length - this.start > this.size || this.bytes > this.maxBytes)
    ) {
      this.compactedRv = (this.events[this.start] as StoredEvent).rv;
      this.bytes -= this.sizes[this.start] as number;
      // Drop the reference now so an evicted (possibly large) object can be collected.
      (this.events as (StoredEvent | undefined)[])[this.start] = undefined;
      this.start++;
    }
    if (this.start >= Math.min(this.size, 1024) && this.start * 2 >= this.events.length) {
      this.events = this.events.slice(this.start);
      this.sizes.splice(0, this.start);
      this.start = 0;
    }
  }

  since(rv: number): EventsSince {
    if (rv < this.compactedRv) return { ok: false, oldestRv: this.compactedRv };
    let lo = this.start;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid] as StoredEvent).rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return { ok: true, events: this.events.slice(lo) };
  }
}

/**
 * The default storage engine: objects in maps, a bounded event window per resource for watch
 * resume, synchronous fan-out to subscribers, and an optional durable journal.
 *
 * @example
 * ```ts
 * const s = new MemoryStorage({ windowSize: 1000 });
 * const stored = s.put('/configmaps', { metadata: { name: 'a', namespace: 'default' } }, 'ADDED');
 * stored.metadata.resourceVersion; // '1'
 * ```
 */
export class MemoryStorage implements Storage {
  private rv = 0;
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private readonly windows = new Map<string, EventWindow>();
  private readonly subscribers = new Map<string, Set<(e: StoredEvent) => void>>();
  private readonly windowSize: number;
  private readonly windowBytes: number;
  private readonly journal: Journal | undefined;

  constructor(opts: MemoryStorageOptions = {}) {
    this.windowSize = opts.windowSize ?? 10_000;
    this.windowBytes = opts.windowBytes ?? 64 * 1024 * 1024;
    this.journal = opts.journal;
  }

  /** Rebuilds state from journal records (at start, before serving). Does not notify subscribers. */
  replay(records: Iterable<JournalRecord>): void {
    // Previous state of each object inside replayed windows, so selector-filtered watches still
    // see objects leave after a compacted restart.
    const windowPrev = new Map<string, KubeObject>();
    for (const r of records) {
      const e: StoredEvent = { type: r.type, rv: r.rv, storageKey: r.key, object: r.object, prev: undefined };
      if (r.mode === 'state') {
        this.setState(e);
        continue;
      }
      if (r.mode === 'window') {
        if (r.rv > this.rv) this.rv = r.rv;
        const w = this.window(r.key);
        if (r.compactedRv !== undefined && w.events.length === w.start) w.compactedRv = r.compactedRv;
        const id = `${r.key}\u0000${objectKey(r.object.metadata.namespace ?? '', r.object.metadata.name ?? '')}`;
        w.push({ ...e, prev: windowPrev.get(id) });
        if (r.type === 'DELETED') windowPrev.delete(id);
        else windowPrev.set(id, r.object);
        continue;
      }
      const prev = this.get(r.key, r.object.metadata.namespace ?? '', r.object.metadata.name ?? '');
      this.apply({ ...e, prev }, false);
    }
  }

  /**
   * The journal records of a compacted history: every live object once (`state`), then the
   * retained watch window of every resource (`window`). Replaying them gives the same objects,
   * resourceVersions and resumable watches as replaying the full history.
   */
  *compactedRecords(): Generator<JournalRecord> {
    for (const [key, m] of this.data) {
      for (const o of m.values())
        yield { rv: Number(o.metadata.resourceVersion), type: 'ADDED', key, object: o, mode: 'state' };
    }
    for (const [key, w] of this.windows) {
      let first = true;
      for (let i = w.start; i < w.events.length; i++) {
        const e = w.events[i] as StoredEvent;
        const r: JournalRecord = { rv: e.rv, type: e.type, key, object: e.object, mode: 'window' };
        if (first) r.compactedRv = w.compactedRv;
        first = false;
        yield r;
      }
    }
  }

  /** Number of live objects plus retained window events: the size of a compacted journal. */
  compactedSize(): number {
    let n = 0;
    for (const m of this.data.values()) n += m.size;
    for (const w of this.windows.values()) n += w.events.length - w.start;
    return n;
  }

  currentRv(): number {
    return this.rv;
  }

  get(storageKey: string, namespace: string, name: string): KubeObject | undefined {
    return this.data.get(storageKey)?.get(objectKey(namespace, name));
  }

  list(storageKey: string, namespace?: string): KubeObject[] {
    const m = this.data.get(storageKey);
    if (m === undefined) return [];
    const out: { k: string; o: KubeObject }[] = [];
    for (const [k, o] of m) {
      if (namespace === undefined || o.metadata.namespace === namespace) out.push({ k, o });
    }
    out.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    return out.map((e) => e.o);
  }

  count(storageKey: string): number {
    return this.data.get(storageKey)?.size ?? 0;
  }

  keys(): string[] {
    return [...this.data.entries()].filter(([, m]) => m.size > 0).map(([k]) => k);
  }

  put(storageKey: string, object: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject {
    return this.commit(storageKey, object, type);
  }

  remove(storageKey: string, object: KubeObject): KubeObject {
    return this.commit(storageKey, object, 'DELETED');
  }

  /** What the watch window of a resource retains: event count and JSON size (for tests and metrics). */
  windowUsage(storageKey: string): { events: number; bytes: number } {
    const w = this.windows.get(storageKey);
    return w === undefined ? { events: 0, bytes: 0 } : { events: w.events.length - w.start, bytes: w.bytes };
  }

  /** Number of live watch subscriptions of a resource (a closed watch must not be counted). */
  subscriberCount(storageKey: string): number {
    return this.subscribers.get(storageKey)?.size ?? 0;
  }

  eventsSince(storageKey: string, rv: number): EventsSince {
    const w = this.windows.get(storageKey);
    return w === undefined ? { ok: true, events: [] } : w.since(rv);
  }

  subscribe(storageKey: string, listener: (e: StoredEvent) => void): () => void {
    let set = this.subscribers.get(storageKey);
    if (set === undefined) {
      set = new Set();
      this.subscribers.set(storageKey, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  close(): void {
    this.journal?.close();
    this.subscribers.clear();
  }

  private commit(storageKey: string, object: KubeObject, type: StoredEvent['type']): KubeObject {
    const rv = this.rv + 1;
    const stored: KubeObject = { ...object, metadata: { ...object.metadata, resourceVersion: String(rv) } };
    // Durability first: if the journal throws, nothing changed and the client gets an error.
    this.journal?.append({ rv, type, key: storageKey, object: stored });
    const prev = this.get(storageKey, object.metadata.namespace ?? '', object.metadata.name ?? '');
    const e: StoredEvent = { type, rv, storageKey, object: stored, prev };
    this.apply(e, true);
    return stored;
  }

  private window(key: string): EventWindow {
    let w = this.windows.get(key);
    if (w === undefined) {
      w = new EventWindow(this.windowSize, this.windowBytes);
      this.windows.set(key, w);
    }
    return w;
  }

  private setState(e: StoredEvent): void {
    if (e.rv > this.rv) this.rv = e.rv;
    let m = this.data.get(e.storageKey);
    if (m === undefined) {
      m = new Map();
      this.data.set(e.storageKey, m);
    }
    const k = objectKey(e.object.metadata.namespace ?? '', e.object.metadata.name ?? '');
    if (e.type === 'DELETED') m.delete(k);
    else m.set(k, e.object);
  }

  private apply(e: StoredEvent, notify: boolean): void {
    this.setState(e);
    this.window(e.storageKey).push(e);
    if (!notify) return;
    const subs = this.subscribers.get(e.storageKey);
    if (subs === undefined) return;
    for (const s of [...subs]) s(e);
  }
}
