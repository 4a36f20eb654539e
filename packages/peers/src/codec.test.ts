import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { admitAdvert, decodeAdvert, encodeAdvert, MAX_ADVERT_BODY_BYTES, type ReplayState } from './codec.js';
import { type Advert, membersDigest } from './types.js';

const k1 = { id: 'k1', secret: Buffer.alloc(32, 1) };
const k2 = { id: 'k2', secret: Buffer.alloc(32, 2) };
const advert: Advert = {
  group: 'egw1',
  node: 'a',
  epoch: 1_700_000_000_000,
  seq: 7,
  sentAtWall: 1_700_000_000_500,
  apiOk: true,
  wants: ['e1'],
  holds: ['e1'],
  backing: { e1: { holder: 'a', epoch: 1_700_000_000_000, seq: 7 }, e2: { holder: 'b', epoch: 3, seq: 9 } },
};

function bytes(a: Advert = advert, key = k1): Uint8Array {
  const r = encodeAdvert(a, key);
  if (!r.ok) throw new Error(r.reason);
  return r.bytes;
}

describe('advert codec', () => {
  it('round-trips an advert and names the key it was signed with', () => {
    expect(decodeAdvert(bytes(), [k1])).toEqual({ ok: true, advert, keyId: 'k1' });
  });

  it('accepts both keys of a rotation and refuses an unknown key', () => {
    expect(decodeAdvert(bytes(advert, k2), [k1, k2])).toMatchObject({ ok: true, keyId: 'k2' });
    expect(decodeAdvert(bytes(advert, k2), [k1])).toEqual({ ok: false, reason: 'unknown-key' });
  });

  it('refuses any flipped byte (tag, body or header) without throwing', () => {
    const good = bytes();
    for (let i = 0; i < good.length; i++) {
      const bad = Uint8Array.from(good);
      bad[i] = (bad[i] as number) ^ 0x01;
      const r = decodeAdvert(bad, [k1]);
      expect(r.ok, `byte ${i}`).toBe(false);
    }
  });

  it('refuses a key with the same id but another secret (bad-tag)', () => {
    expect(decodeAdvert(bytes(), [{ id: 'k1', secret: Buffer.alloc(32, 9) }])).toEqual({
      ok: false,
      reason: 'bad-tag',
    });
  });

  it('bounds the size: refuses to encode a body over the limit, refuses short and long datagrams', () => {
    const big = { ...advert, wants: Array.from({ length: 200 }, (_, i) => `10.0.${i}.1`) };
    expect(encodeAdvert(big, k1)).toEqual({ ok: false, reason: 'too-large' });
    expect(decodeAdvert(new Uint8Array(10), [k1])).toEqual({ ok: false, reason: 'too-short' });
    expect(decodeAdvert(new Uint8Array(MAX_ADVERT_BODY_BYTES + 100), [k1])).toEqual({
      ok: false,
      reason: 'too-large',
    });
  });

  it('refuses a signed body that is not a valid advert (holds outside wants)', () => {
    const b = bytes({ ...advert, wants: [] });
    expect(decodeAdvert(b, [k1])).toEqual({ ok: false, reason: 'malformed' });
  });

  it("carries the sender's members digest; takes an advert without it (an agent from before it) and ignores fields after it", () => {
    const withDigest = { ...advert, membersDigest: membersDigest(['b', 'a', 'c']) };
    expect(decodeAdvert(bytes(withDigest), [k1])).toEqual({ ok: true, advert: withDigest, keyId: 'k1' });
    expect(membersDigest(['b', 'a', 'c'])).toBe(membersDigest(['a', 'b', 'c']));
    expect(membersDigest(['a', 'b', 'c'])).not.toBe(membersDigest(['a', 'b', 'c', 'd']));
    expect(membersDigest(['a', 'b', 'c'])).toMatch(/^[0-9a-f]{16}$/);
    // A body signed as a later version might write it: one more field after the digest.
    const signed = (body: unknown[]) => {
      const text = Buffer.from(JSON.stringify(body), 'utf8');
      const head = Buffer.alloc(4 + 2);
      head.writeUInt8(1, 0);
      head.writeUInt8(2, 1);
      head.write('k1', 2, 'ascii');
      head.writeUInt16BE(text.length, 4);
      const data = Buffer.concat([head, text]);
      return Buffer.concat([data, createHmac('sha256', k1.secret).update(data).digest()]);
    };
    const fields = [
      advert.group,
      advert.node,
      advert.epoch,
      advert.seq,
      advert.sentAtWall,
      1,
      ['e1'],
      ['e1'],
      [],
    ];
    expect(decodeAdvert(signed([...fields, 'abc', { later: true }]), [k1])).toMatchObject({
      ok: true,
      advert: { membersDigest: 'abc' },
    });
    const before = decodeAdvert(signed(fields), [k1]);
    expect(before.ok && before.advert.membersDigest).toBeUndefined();
    expect(decodeAdvert(signed([...fields, 42]), [k1])).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('admitAdvert (replay and origin)', () => {
  const ctx = {
    group: 'egw1',
    memberAddresses: new Map([
      ['a', '198.51.100.1'],
      ['b', '198.51.100.2'],
    ]),
    sourceAddress: '198.51.100.1',
    nowWall: advert.sentAtWall + 100,
  };
  const empty: ReplayState = new Map();

  it('accepts a first advert and then only strictly newer (epoch, seq)', () => {
    const r = admitAdvert(empty, advert, ctx);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(empty.size).toBe(0);
    expect(admitAdvert(r.replay, advert, ctx)).toEqual({ ok: false, reason: 'replayed-seq' });
    expect(admitAdvert(r.replay, { ...advert, seq: 6 }, ctx)).toEqual({ ok: false, reason: 'replayed-seq' });
    expect(admitAdvert(r.replay, { ...advert, seq: 8 }, ctx).ok).toBe(true);
    expect(admitAdvert(r.replay, { ...advert, epoch: advert.epoch - 1, seq: 99 }, ctx)).toEqual({
      ok: false,
      reason: 'old-epoch',
    });
    expect(admitAdvert(r.replay, { ...advert, epoch: advert.epoch + 1, seq: 1 }, ctx).ok).toBe(true);
  });

  it('refuses another group, a non-member, a wrong source address and a stale wall time', () => {
    expect(admitAdvert(empty, { ...advert, group: 'x' }, ctx)).toEqual({ ok: false, reason: 'wrong-group' });
    expect(admitAdvert(empty, { ...advert, node: 'z' }, ctx)).toEqual({ ok: false, reason: 'unknown-node' });
    expect(admitAdvert(empty, advert, { ...ctx, sourceAddress: '198.51.100.2' })).toEqual({
      ok: false,
      reason: 'wrong-source',
    });
    expect(admitAdvert(empty, advert, { ...ctx, nowWall: advert.sentAtWall + 5_001 })).toEqual({
      ok: false,
      reason: 'stale-time',
    });
  });
});
