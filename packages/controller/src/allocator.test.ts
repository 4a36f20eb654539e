import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TunnelAllocator } from './allocator.js';

const cidrs = { ipv4: '198.19.255.0/24', ipv6: 'fd00:ff::/64' };

describe('TunnelAllocator', () => {
  it('gives a node a mark above 0x26000000, a 66: MAC and one address per family', () => {
    const a = new TunnelAllocator(cidrs).allocate({ name: 'node1' });
    expect(a.mark).toMatch(/^0x26[0-9a-f]{6}$/);
    expect(Number.parseInt(a.mark, 16)).toBeGreaterThan(0x26000000);
    expect(a.mac).toMatch(/^66(:[0-9a-f]{2}){5}$/);
    expect(a.ipv4).toMatch(/^198\.19\.255\.\d+$/);
    expect(a.ipv4).not.toBe('198.19.255.0');
    expect(a.ipv4).not.toBe('198.19.255.255');
    expect(a.ipv6?.startsWith('fd00:ff::')).toBe(true);
  });

  it('is deterministic: another replica computes the same values for the same node', () => {
    expect(new TunnelAllocator(cidrs).allocate({ name: 'node-7' })).toEqual(
      new TunnelAllocator(cidrs).allocate({ name: 'node-7' }),
    );
  });

  it('keeps what a tunnel already holds after a restart (rebuilt from existing tunnels)', () => {
    const first = new TunnelAllocator(cidrs);
    const held = {
      name: 'node1',
      mark: '0x26000042',
      mac: '66:00:00:00:00:01',
      ipv4: '198.19.255.9',
      ipv6: 'fd00:ff::9',
    };
    const restarted = new TunnelAllocator(cidrs);
    restarted.adopt(held);
    expect(restarted.allocate(held)).toEqual({
      mark: '0x26000042',
      mac: '66:00:00:00:00:01',
      ipv4: '198.19.255.9',
      ipv6: 'fd00:ff::9',
    });
    expect(first.allocate({ name: 'node1' }).mark).not.toBe('0x26000042');
  });

  it('never hands out a value twice, also when adopted tunnels claim colliding values (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), { minLength: 1, maxLength: 60 }),
        fc.array(
          fc.record({
            mark: fc.integer({ min: 0x26000001, max: 0x26000010 }),
            ip: fc.integer({ min: 1, max: 10 }),
          }),
          {
            maxLength: 10,
          },
        ),
        (names, claims) => {
          const alloc = new TunnelAllocator({ ipv4: '198.19.255.0/26', ipv6: 'fd00:ff::/120' });
          claims.forEach((c, i) => {
            const name = names[i % names.length] ?? 'x';
            alloc.adopt({ name, mark: `0x${c.mark.toString(16)}`, ipv4: `198.19.255.${c.ip}` });
          });
          const all = names.map((name) => alloc.allocate({ name }));
          for (const field of ['mark', 'mac', 'ipv4', 'ipv6'] as const) {
            expect(new Set(all.map((a) => a[field])).size).toBe(all.length);
          }
        },
      ),
    );
  });

  it('says which CIDR is wrong and when one is full', () => {
    expect(() => new TunnelAllocator({ ipv4: 'fd00::/64' })).toThrow(
      'tunnel ipv4 CIDR "fd00::/64" is not an IPv4 CIDR',
    );
    expect(() => new TunnelAllocator({})).toThrow('no tunnel CIDR configured');
    const tiny = new TunnelAllocator({ ipv4: '198.19.255.0/30' });
    tiny.allocate({ name: 'a' });
    tiny.allocate({ name: 'b' });
    expect(() => tiny.allocate({ name: 'c' })).toThrow('is full');
  });

  it('frees a deleted node values for reuse', () => {
    const tiny = new TunnelAllocator({ ipv4: '198.19.255.0/30' });
    tiny.allocate({ name: 'a' });
    const b = tiny.allocate({ name: 'b' });
    tiny.release('b');
    expect(tiny.allocate({ name: 'c' }).ipv4).toBe(b.ipv4);
  });
});
