import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch } from './patch.js';
import type { JsonObject, JsonValue } from './types.js';

const key = fc.constantFrom('a', 'b', 'c', 'spec', 'status');
const leaf: fc.Arbitrary<JsonValue> = fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.boolean());
const doc: fc.Arbitrary<JsonObject> = fc.letrec<{ obj: JsonObject }>((tie) => ({
  obj: fc.dictionary(key, fc.oneof({ depthSize: 'small' }, leaf, tie('obj') as fc.Arbitrary<JsonValue>), {
    maxKeys: 4,
  }),
})).obj;

describe('patch properties', () => {
  it('merge patch is idempotent: applying the same patch twice equals applying it once', () => {
    fc.assert(
      fc.property(doc, doc, (target, patch) => {
        const once = mergePatch(target, patch);
        expect(mergePatch(once, patch)).toEqual(once);
      }),
    );
  });

  it('merge patch with a document as the patch yields the patch wherever the target had no deeper keys', () => {
    fc.assert(
      fc.property(doc, (d) => {
        expect(mergePatch({}, d)).toEqual(d);
      }),
    );
  });

  it('json patch add then remove of a fresh key returns the original document', () => {
    fc.assert(
      fc.property(doc, leaf, (d, v) => {
        const out = jsonPatch(d, [
          { op: 'add', path: '/fresh~1key', value: v },
          { op: 'remove', path: '/fresh~1key' },
        ]);
        expect(out).toEqual(d);
      }),
    );
  });
});
