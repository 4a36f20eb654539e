import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.js';
import type { StoredEvent } from './storage.js';
import type { KubeObject } from './types.js';

const cm = (name: string, ns = 'default'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns },
});

describe('MemoryStorage', () => {
  it('stamps a server-wide monotonic resourceVersion on every write', () => {
    const s = new MemoryStorage();
    const a = s.put('/configmaps', cm('a'), 'ADDED');
    const b = s.put('/pods', cm('b'), 'ADDED');
    const a2 = s.put('/configmaps', { ...a, data: { x: '1' } }, 'MODIFIED');
    const gone = s.remove('/configmaps', a2);
    expect([a, b, a2, gone].map((o) => Number(o.metadata.resourceVersion))).toEqual([1, 2, 3, 4]);
    expect(s.currentRv()).toBe(4);
    expect(s.get('/configmaps', 'default', 'a')).toBeUndefined();
  });

  it('never mutates the object it was given', () => {
    const s = new MemoryStorage();
    const input = cm('a');
    s.put('/configmaps', input, 'ADDED');
    expect(input.metadata.resourceVersion).toBeUndefined();
  });

  it('lists sorted by namespace and name, optionally in one namespace', () => {
    const s = new MemoryStorage();
    for (const [n, ns] of [
      ['b', 'y'],
      ['a', 'y'],
      ['c', 'x'],
    ] as const)
      s.put('/configmaps', cm(n, ns), 'ADDED');
    expect(s.list('/configmaps').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'x/c',
      'y/a',
      'y/b',
    ]);
    expect(s.list('/configmaps', 'y').map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(s.count('/configmaps')).toBe(3);
  });

  it('hands the same event object to every subscriber (no per-watcher copy)', () => {
    const s = new MemoryStorage();
    const got: StoredEvent[][] = [[], [], []];
    const unsub = got.map((g) => s.subscribe('/configmaps', (e) => g.push(e)));
    s.put('/configmaps', cm('a'), 'ADDED');
    expect(got[0]?.[0]).toBeDefined();
    expect(got[1]?.[0]).toBe(got[0]?.[0]);
    expect(got[2]?.[0]).toBe(got[0]?.[0]);
    unsub[0]?.();
    s.put('/configmaps', cm('b'), 'ADDED');
    expect(got.map((g) => g.length)).toEqual([1, 2, 2]);
  });

  it('retains a bounded window per resource and reports the oldest retained version beyond it', () => {
    const s = new MemoryStorage({ windowSize: 3 });
    for (let i = 0; i < 5; i++) s.put('/configmaps', cm(`c${i}`), 'ADDED');
    s.put('/pods', cm('p'), 'ADDED');
    expect(s.eventsSince('/configmaps', 1)).toEqual({ ok: false, oldestRv: 2 });
    const ok = s.eventsSince('/configmaps', 2);
    expect(ok.ok && ok.events.map((e) => e.rv)).toEqual([3, 4, 5]);
    const pods = s.eventsSince('/pods', 0);
    expect(pods.ok && pods.events.map((e) => e.rv)).toEqual([6]);
  });

  it('records the previous state on every event', () => {
    const s = new MemoryStorage();
    const a = s.put('/configmaps', cm('a'), 'ADDED');
    const evs: StoredEvent[] = [];
    s.subscribe('/configmaps', (e) => evs.push(e));
    s.put('/configmaps', { ...a, data: { k: 'v' } }, 'MODIFIED');
    expect(evs[0]?.prev).toBe(a);
  });
});
