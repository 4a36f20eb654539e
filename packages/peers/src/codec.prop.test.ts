import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAdvert, encodeAdvert } from './codec.js';
import type { Advert } from './types.js';

const key = { id: 'k', secret: Buffer.alloc(32, 7) };
const name = fc.string({ minLength: 1, maxLength: 12 });
const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const arbAdvert: fc.Arbitrary<Advert> = fc
  .record({
    group: fc.string({ maxLength: 20 }),
    node: name,
    epoch: count,
    seq: count,
    sentAtWall: count,
    apiOk: fc.boolean(),
    wants: fc.uniqueArray(name, { maxLength: 6 }),
    held: fc.nat(),
    backing: fc.dictionary(name, fc.record({ holder: name, epoch: count, seq: count }), { maxKeys: 6 }),
  })
  .map(({ held, ...a }) => ({ ...a, holds: a.wants.slice(0, held % (a.wants.length + 1)) }));

describe('advert codec (random adverts and bytes)', () => {
  it('every advert that fits round-trips exactly; one that does not is refused as too-large', () => {
    fc.assert(
      fc.property(arbAdvert, (a) => {
        const r = encodeAdvert(a, key);
        if (!r.ok) {
          expect(r.reason).toBe('too-large');
          return;
        }
        expect(decodeAdvert(r.bytes, [key])).toEqual({ ok: true, advert: a, keyId: 'k' });
      }),
    );
  });

  it('random bytes never throw and are never accepted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_400 }), (bytes) => {
        expect(decodeAdvert(bytes, [key]).ok).toBe(false);
      }),
    );
  });
});
