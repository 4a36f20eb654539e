import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.js';
import type { KubeObject } from './types.js';

type Op = { kind: 'put'; name: string } | { kind: 'del'; name: string };
const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('put' as const, 'del' as const),
  name: fc.constantFrom('a', 'b', 'c', 'd'),
});

function run(ops: Op[], windowSize: number) {
  const s = new MemoryStorage({ windowSize });
  const log: { rv: number; type: string; name: string }[] = [];
  s.subscribe('/configmaps', (e) => log.push({ rv: e.rv, type: e.type, name: e.object.metadata.name ?? '' }));
  for (const o of ops) {
    const cur = s.get('/configmaps', 'ns', o.name);
    if (o.kind === 'put') {
      const obj: KubeObject = {
        metadata: { name: o.name, namespace: 'ns' },
        data: { n: String(log.length) },
      };
      s.put(
        '/configmaps',
        cur === undefined ? obj : { ...cur, data: obj.data },
        cur === undefined ? 'ADDED' : 'MODIFIED',
      );
    } else if (cur !== undefined) {
      s.remove('/configmaps', cur);
    }
  }
  return { s, log };
}

describe('watch window properties', () => {
  it('resuming from any resourceVersion inside the window yields exactly the later events, in order; older ones get Gone', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        fc.nat(45),
        (ops, windowSize, from) => {
          const { s, log } = run(ops, windowSize);
          const res = s.eventsSince('/configmaps', from);
          const evicted = log.slice(0, Math.max(0, log.length - windowSize));
          const lostNeeded = evicted.some((e) => e.rv > from);
          if (lostNeeded) {
            expect(res.ok).toBe(false);
          } else {
            expect(res.ok).toBe(true);
            if (res.ok)
              expect(
                res.events.map((e) => ({ rv: e.rv, type: e.type, name: e.object.metadata.name })),
              ).toEqual(log.filter((e) => e.rv > from));
          }
        },
      ),
    );
  });

  it('replaying the event log from the start rebuilds exactly the stored state', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { s, log } = run(ops, 1000);
        const state = new Map<string, number>();
        for (const e of log) {
          if (e.type === 'DELETED') state.delete(e.name);
          else state.set(e.name, e.rv);
        }
        expect(
          new Map(
            s.list('/configmaps').map((o) => [o.metadata.name ?? '', Number(o.metadata.resourceVersion)]),
          ),
        ).toEqual(state);
      }),
    );
  });

  it('replaying the compacted records gives the same objects, resourceVersion and watch resume answers', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 10 }), (ops, windowSize) => {
        const { s } = run(ops, windowSize);
        const c = new MemoryStorage({ windowSize });
        c.replay([...s.compactedRecords()]);
        expect(c.currentRv()).toBe(s.currentRv());
        expect(c.list('/configmaps')).toEqual(s.list('/configmaps'));
        for (let rv = 0; rv <= s.currentRv() + 1; rv++) {
          const a = s.eventsSince('/configmaps', rv);
          const b = c.eventsSince('/configmaps', rv);
          expect(b.ok).toBe(a.ok);
          if (a.ok && b.ok)
            expect(b.events.map((e) => [e.rv, e.type])).toEqual(a.events.map((e) => [e.rv, e.type]));
        }
      }),
    );
  });
});
