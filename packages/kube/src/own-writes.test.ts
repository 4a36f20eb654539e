import { describe, expect, it } from 'vitest';
import type { KubeObject } from './informer.js';
import { OwnWrites } from './own-writes.js';

type Obj = KubeObject & { v: string };
const obj = (name: string, rv: string, v: string, namespace?: string): Obj => ({
  metadata: { name, resourceVersion: rv, ...(namespace ? { namespace } : {}) },
  v,
});

/** A stand-in for an informer's cache. */
class Cache {
  readonly items = new Map<string, Obj>();
  put(o: Obj): void {
    const ns = o.metadata?.namespace;
    this.items.set(ns ? `${ns}/${o.metadata?.name}` : (o.metadata?.name ?? ''), o);
  }
  get(key: string) {
    return this.items.get(key);
  }
  list() {
    return [...this.items.values()];
  }
}

describe('OwnWrites', () => {
  it('reads its own write until the informer delivers that version or a newer one', () => {
    const cache = new Cache();
    cache.put(obj('a', '5', 'old'));
    cache.put(obj('b', '6', 'b', 'ns'));
    const w = new OwnWrites<Obj>(cache);
    expect(w.list()).toEqual(cache.list()); // nothing pending: the informer's objects as they are
    const mine = obj('a', '9', 'mine');
    w.record(mine);
    expect(w.get('a')).toBe(mine);
    expect(w.list().map((o) => o.v)).toEqual(['mine', 'b']);
    // The informer is still behind (an older event arrives): the own copy stays.
    cache.put(obj('a', '7', 'stale'));
    expect(w.get('a')).toBe(mine);
    // It catches up: its copy wins and the own copy is dropped.
    const delivered = obj('a', '9', 'delivered');
    cache.put(delivered);
    expect(w.get('a')).toBe(delivered);
    expect(w.size).toBe(0);
  });

  it('keys namespaced objects by namespace/name and drops copies of objects the informer does not hold', () => {
    const cache = new Cache();
    cache.put(obj('b', '6', 'b', 'ns'));
    const w = new OwnWrites<Obj>(cache);
    w.record(obj('b', '8', 'mine', 'ns'));
    w.record(obj('gone', '8', 'deleted meanwhile'));
    expect(w.get('ns/b')?.v).toBe('mine');
    expect(w.list().map((o) => o.v)).toEqual(['mine']);
    expect(w.size).toBe(1);
    expect(w.get('gone')).toBeUndefined();
  });

  it('compares resource versions as numbers, and an opaque one only by equality', () => {
    const cache = new Cache();
    cache.put(obj('a', '10', 'ten'));
    const w = new OwnWrites<Obj>(cache);
    w.record(obj('a', '9', 'nine'));
    expect(w.get('a')?.v).toBe('ten');
    w.record(obj('a', 'x1', 'opaque'));
    expect(w.get('a')?.v).toBe('opaque');
  });
});
