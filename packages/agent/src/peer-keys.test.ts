import { describe, expect, it } from 'vitest';
import { MIN_PEER_KEY_BYTES, parsePeerKeys } from './peer-keys.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const key = (fill: number) => b64(Buffer.alloc(MIN_PEER_KEY_BYTES, fill));

describe('parsePeerKeys', () => {
  it('reads one key, named by its item', () => {
    const { keys, problems } = parsePeerKeys({ k1: key(1) });
    expect(problems).toEqual([]);
    expect(keys.map((k) => k.id)).toEqual(['k1']);
    expect(Buffer.from(keys[0]?.secret ?? []).equals(Buffer.alloc(32, 1))).toBe(true);
  });

  it('signs with the key `active` names and verifies with the other one too (a rotation)', () => {
    expect(parsePeerKeys({ k1: key(1), k2: key(2), active: b64('k1') }).keys.map((k) => k.id)).toEqual([
      'k1',
      'k2',
    ]);
    expect(parsePeerKeys({ k1: key(1), k2: key(2), active: b64('k2\n') }).keys.map((k) => k.id)).toEqual([
      'k2',
      'k1',
    ]);
    // Without `active`: the last id in sort order signs.
    expect(parsePeerKeys({ k2: key(2), k1: key(1) }).keys.map((k) => k.id)).toEqual(['k2', 'k1']);
  });

  it('refuses short keys, bad ids and an `active` naming no key, saying which item and how to fix it', () => {
    const r = parsePeerKeys({
      short: b64('x'.repeat(31)),
      [`${'a'.repeat(33)}`]: key(3),
      active: b64('nope'),
    });
    expect(r.keys).toEqual([]);
    expect(r.problems).toEqual([
      `data.${'a'.repeat(33)}: a key id must be 1-32 printable ASCII characters; rename the item`,
      'data.short: 31 bytes is too short for a key; use at least 32 random bytes (openssl rand 32)',
      'data.active: names "nope", which is no valid key item; name one of (none)',
    ]);
  });

  it('keeps two keys when there are more, and says so', () => {
    const r = parsePeerKeys({ k1: key(1), k2: key(2), k3: key(3), active: b64('k2') });
    expect(r.keys.map((k) => k.id)).toEqual(['k2', 'k3']);
    expect(r.problems).toEqual([
      'data: 3 keys, only two are used (k2 signs, k3 verifies too); remove the old ones',
    ]);
  });

  it('has no key without data', () => {
    expect(parsePeerKeys(undefined)).toEqual({ keys: [], problems: [] });
  });
});
