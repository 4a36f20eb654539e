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

  it('EIPs named like Object.prototype members round-trip as data (found by the property above)', () => {
    const backing = Object.fromEntries(
      ['toString', 'constructor', '__proto__'].map((e) => [e, { holder: 'n1', epoch: 1, seq: 2 }]),
    );
    const a: Advert = {
      group: 'g',
      node: 'n1',
      epoch: 1,
      seq: 3,
      sentAtWall: 9,
      apiOk: true,
      wants: [],
      holds: [],
      backing,
    };
    const r = encodeAdvert(a, key);
    if (!r.ok) throw new Error(r.reason);
    const d = decodeAdvert(r.bytes, [key]);
    expect(d).toEqual({ ok: true, advert: a, keyId: 'k' });
    expect(d.ok && Object.keys(d.advert.backing).sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect(d.ok && Object.getPrototypeOf(d.advert.backing)).toBe(Object.prototype);
  });

  it('random bytes never throw and are never accepted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_400 }), (bytes) => {
        expect(decodeAdvert(bytes, [key]).ok).toBe(false);
      }),
    );
  });
});
