import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.js';
import type { KubeObject } from './types.js';

const big = (name: string, kib: number, i: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data: { blob: `${i}`.padEnd(kib * 1024, 'x') },
});

describe('watch window bounded by bytes', () => {
  it('keeps the JSON size of retained events under the bound while large objects are written', () => {
    const bound = 1024 * 1024;
    const s = new MemoryStorage({ windowBytes: bound });
    let maxSeen = 0;
    for (let i = 0; i < 500; i++) {
      s.put('/configmaps', big(`cm-${i % 7}`, 100, i), i < 7 ? 'ADDED' : 'MODIFIED');
      const u = s.windowUsage('/configmaps');
      maxSeen = Math.max(maxSeen, u.bytes);
      expect(u.bytes).toBeLessThanOrEqual(bound);
    }
    // 100 KiB objects under a 1 MiB bound: at most 10 retained, and the window is not starved.
    const u = s.windowUsage('/configmaps');
    expect(u.events).toBeGreaterThanOrEqual(9);
    expect(u.events).toBeLessThanOrEqual(10);
    expect(maxSeen).toBeGreaterThan(bound * 0.8);
  });

  it('answers a resume from an evicted resourceVersion with the oldest retained one (410 upstream)', () => {
    const s = new MemoryStorage({ windowBytes: 300 * 1024 });
    for (let i = 0; i < 20; i++) s.put('/configmaps', big(`cm-${i}`, 100, i), 'ADDED');
    const since = s.eventsSince('/configmaps', 5);
    expect(since).toEqual({ ok: false, oldestRv: 18 });
    const recent = s.eventsSince('/configmaps', 18);
    expect(recent.ok && recent.events.map((e) => e.rv)).toEqual([19, 20]);
  });

  it('still bounds by event count, and both bounds apply per resource', () => {
    const s = new MemoryStorage({ windowSize: 5, windowBytes: 1024 * 1024 });
    for (let i = 0; i < 12; i++) s.put('/configmaps', big(`a-${i}`, 1, i), 'ADDED');
    s.put('/secrets', big('s', 1, 0), 'ADDED');
    expect(s.windowUsage('/configmaps').events).toBe(5);
    expect(s.windowUsage('/secrets').events).toBe(1);
  });

  it('an object larger than the bound evicts everything older but itself stays (it carries the current resourceVersion)', () => {
    const s = new MemoryStorage({ windowBytes: 10 * 1024 });
    s.put('/configmaps', big('small', 1, 0), 'ADDED');
    const huge = s.put('/configmaps', big('huge', 20, 1), 'ADDED');
    s.remove('/configmaps', huge);
    expect(s.windowUsage('/configmaps').events).toBe(1);
    expect(s.eventsSince('/configmaps', 1)).toEqual({ ok: false, oldestRv: 2 });
    // A compacted journal of this state still ends at resourceVersion 3.
    const copy = new MemoryStorage({ windowBytes: 10 * 1024 });
    copy.replay(s.compactedRecords());
    expect(copy.currentRv()).toBe(3);
  });

  it('compacted records after byte eviction replay to the same window', () => {
    const s = new MemoryStorage({ windowBytes: 300 * 1024 });
    for (let i = 0; i < 3000; i++)
      s.put('/configmaps', big(`cm-${i % 3}`, 100, i), i < 3 ? 'ADDED' : 'MODIFIED');
    const copy = new MemoryStorage({ windowBytes: 300 * 1024 });
    copy.replay(s.compactedRecords());
    expect(copy.windowUsage('/configmaps')).toEqual(s.windowUsage('/configmaps'));
    expect(copy.eventsSince('/configmaps', 1)).toEqual(s.eventsSince('/configmaps', 1));
  });
});
