import { describe, expect, it } from 'vitest';
import type { Advert } from './types.js';
import { canonicalAddress, PeerTransport } from './udp.js';

const advert: Advert = {
  group: 'egw1',
  node: 'a',
  epoch: 1,
  seq: 1,
  sentAtWall: 0,
  apiOk: true,
  wants: [],
  holds: [],
  backing: {},
};

describe('canonicalAddress', () => {
  it('writes IPv6 addresses as the kernel reports them and unmaps IPv4-mapped ones', () => {
    expect(canonicalAddress('fd00:0:0::0001')).toBe('fd00::1');
    expect(canonicalAddress('FD00::A')).toBe('fd00::a');
    expect(canonicalAddress('::ffff:198.18.0.1')).toBe('198.18.0.1');
    expect(canonicalAddress('198.18.0.1')).toBe('198.18.0.1');
  });
});

describe('PeerTransport refusals', () => {
  it('counts every refusal but logs at most one line per reason per logEveryMs', () => {
    let now = 0;
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const reported: string[] = [];
    const t = new PeerTransport({
      node: 'a',
      port: 7790,
      bind: { ipv4: '198.18.0.1' },
      keys: () => [],
      members: (g) => (g === 'egw1' ? new Map([['b', '198.18.0.2']]) : undefined),
      onAdvert: () => {},
      onReject: (r) => reported.push(r),
      log: { warn: (fields, message) => lines.push({ fields: fields as Record<string, unknown>, message }) },
      now: () => now,
      logEveryMs: 1_000,
    });
    // No key: nothing can be signed, so nothing is sent.
    for (let i = 0; i < 5; i++) expect(t.send(advert)).toBe(0);
    expect(t.rejections.get('unknown-key')).toBe(5);
    expect(reported).toEqual(Array(5).fill('unknown-key'));
    expect(lines).toHaveLength(1);
    now = 999;
    t.send(advert);
    expect(lines).toHaveLength(1);
    now = 1_000;
    t.send(advert);
    expect(lines).toHaveLength(2);
    expect(lines[1]?.fields).toMatchObject({ reason: 'unknown-key', suppressed: 5 });
    expect(lines[1]?.message).toBe('peer advert not sent');
  });

  it('refuses a configuration without an address or with a bad port, naming the setting', () => {
    const base = {
      node: 'a',
      keys: () => [],
      members: () => undefined,
      onAdvert: () => {},
    };
    expect(() => new PeerTransport({ ...base, port: 7790, bind: {} })).toThrow(/^bind: /);
    expect(() => new PeerTransport({ ...base, port: 0, bind: { ipv4: '0.0.0.0' } })).toThrow(/^port: 0/);
  });
});
