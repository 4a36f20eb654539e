import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import type { JsonValue } from './types.js';

describe('mergePatch (RFC 7386)', () => {
  it('merges maps, deletes on null and replaces lists', () => {
    const t = { a: 1, b: { c: 2, d: 3 }, l: [1, 2] };
    expect(mergePatch(t, { b: { c: null, e: 4 }, l: [3], f: 'x' })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      l: [3],
      f: 'x',
    });
    expect(t).toEqual({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] });
  });
  it('replaces the document with a non-object patch', () => {
    expect(mergePatch({ a: 1 }, [1])).toEqual([1]);
  });
});

describe('jsonPatch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: 'b' } }, list: [1, 2, 3] };
  it('applies add, remove, replace, move, copy and test', () => {
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/c~1d', value: 'e' },
      { op: 'remove', path: '/list/0' },
      { op: 'replace', path: '/list/0', value: 9 },
      { op: 'add', path: '/list/-', value: 7 },
      { op: 'copy', from: '/list', path: '/copy' },
      { op: 'move', from: '/copy', path: '/moved' },
      { op: 'test', path: '/moved/0', value: 9 },
    ]);
    expect(out).toEqual({ metadata: { labels: { a: 'b', 'c/d': 'e' } }, list: [9, 3, 7], moved: [9, 3, 7] });
    expect(doc.list).toEqual([1, 2, 3]);
  });
  it('fails a test op, a missing path, and a non-array patch', () => {
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 5 }])).toThrow(/test failed/);
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }])).toThrow(/missing/);
    expect(() => jsonPatch(doc, { op: 'add' })).toThrow();
  });
});

describe('strategicMergePatch', () => {
  const node = {
    metadata: { labels: { a: '1', b: '2' }, finalizers: ['x'] },
    status: {
      conditions: [
        { type: 'Ready', status: 'False' },
        { type: 'MemoryPressure', status: 'False' },
      ],
      addresses: [{ type: 'InternalIP', address: '198.18.0.1' }],
    },
    spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] },
  } satisfies JsonValue;

  it('merges lists by their merge key and replaces lists without one', () => {
    const out = strategicMergePatch(node, {
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
      spec: { taints: [{ key: 'b', effect: 'NoExecute' }] },
      metadata: { finalizers: ['y'] },
    }) as typeof node;
    expect(out.status.conditions).toEqual([
      { type: 'Ready', status: 'True' },
      { type: 'MemoryPressure', status: 'False' },
    ]);
    expect(out.spec.taints).toEqual([{ key: 'b', effect: 'NoExecute' }]);
    expect(out.metadata.finalizers).toEqual(['x', 'y']);
  });

  it('honours $patch delete/replace, $deleteFromPrimitiveList, $setElementOrder and null', () => {
    const out = strategicMergePatch(node, {
      metadata: { labels: { a: null }, '$deleteFromPrimitiveList/finalizers': ['x'] },
      status: {
        conditions: [
          { type: 'MemoryPressure', $patch: 'delete' },
          { type: 'Disk', status: 'True' },
        ],
        '$setElementOrder/conditions': [{ type: 'Disk' }, { type: 'Ready' }],
        addresses: [{ $patch: 'replace' }, { type: 'Hostname', address: 'n1' }],
      },
    }) as typeof node;
    expect(out.metadata).toEqual({ labels: { b: '2' }, finalizers: [] });
    expect(out.status.conditions).toEqual([
      { type: 'Disk', status: 'True' },
      { type: 'Ready', status: 'False' },
    ]);
    expect(out.status.addresses).toEqual([{ type: 'Hostname', address: 'n1' }]);
    expect(strategicMergePatch({ a: { b: 1, c: 2 } }, { a: { $patch: 'replace', d: 3 } })).toEqual({
      a: { d: 3 },
    });
    expect(strategicMergePatch({ a: 1, b: 2, c: 3 }, { $retainKeys: ['a', 'c'], c: 4 })).toEqual({
      a: 1,
      c: 4,
    });
  });
});
