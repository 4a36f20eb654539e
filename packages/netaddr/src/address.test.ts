import { describe, expect, it } from 'vitest';
import {
  canonicalIp,
  canonicalIpOrText,
  canonicalIpOrThrow,
  formatIp,
  ipFromBytes,
  ipToBytes,
  parseIp,
  parseIpOrThrow,
} from './address.js';
import { NetaddrError } from './result.js';

function error(text: string): string {
  const r = parseIp(text);
  if (r.ok) throw new Error(`${JSON.stringify(text)} parsed as ${r.value.value}`);
  return r.error;
}

describe('parseIp: the decisions (README "Decisions")', () => {
  it('parses IPv4 and IPv6 in every legal form', () => {
    expect(parseIp('198.18.0.1')).toEqual({ ok: true, value: { family: 4, value: 0xc6120001n } });
    expect(parseIp('0.0.0.0')).toEqual({ ok: true, value: { family: 4, value: 0n } });
    expect(parseIp('255.255.255.255')).toEqual({ ok: true, value: { family: 4, value: 0xffffffffn } });
    expect(parseIp('fd00::55')).toEqual({
      ok: true,
      value: { family: 6, value: 0xfd000000000000000000000000000055n },
    });
    expect(parseIp('::')).toEqual({ ok: true, value: { family: 6, value: 0n } });
    expect(parseIp('::1')).toEqual({ ok: true, value: { family: 6, value: 1n } });
    expect(parseIp('FD00:0018:0000::0050')).toEqual({
      ok: true,
      value: { family: 6, value: 0xfd000018000000000000000000000050n },
    });
    expect(parseIp('1:2:3:4:5:6:7::')).toEqual({
      ok: true,
      value: { family: 6, value: 0x00010002000300040005000600070000n },
    });
    expect(parseIp('1:2:3:4:5:6:198.18.0.1')).toEqual({
      ok: true,
      value: { family: 6, value: 0x000100020003000400050006c6120001n },
    });
  });

  it('refuses a zone index, naming it and the address to write instead', () => {
    expect(error('fe80::1%eth0')).toBe(
      '"fe80::1%eth0" has a zone index (%eth0): a zone names a link of one host and is not accepted here; write fe80::1',
    );
    expect(error('fd00::1%2')).toContain('zone index (%2)');
    expect(error('198.18.0.1%eth0')).toContain('zone index');
  });

  it('refuses surrounding or inner whitespace (no trimming)', () => {
    expect(error(' 10.0.0.1')).toBe('" 10.0.0.1" has leading or trailing whitespace: remove it');
    expect(error('10.0.0.1\n')).toContain('leading or trailing whitespace');
    expect(error('\tfd00::1')).toContain('leading or trailing whitespace');
    expect(error('fd00:: 1')).toContain('contains whitespace');
  });

  it('refuses IPv4 leading zeros (octal in some tools) and other IPv4 spellings', () => {
    expect(error('010.0.0.1')).toContain('leading zero in "010"');
    expect(error('10.0.0.01')).toContain('leading zero');
    for (const bad of [
      '10.0.0',
      '10.0.0.1.2',
      '10.0.0.256',
      '0x0a.0.0.1',
      '10..0.1',
      '1e1.0.0.1',
      '-1.0.0.0',
      '10.0.0.1.',
    ])
      expect(error(bad)).toMatch(/IPv4|leading zero|larger than 255/);
    expect(error('10.0.0.256')).toContain('256 is larger than 255');
  });

  it('refuses malformed IPv6 with the reason', () => {
    expect(error('1::2::3')).toContain("more than one '::'");
    expect(error('1:2:3:4:5:6:7:8:9')).toContain('9 groups');
    expect(error('1:2:3:4:5:6:7::8')).toContain("'::' must stand for at least one zero group");
    expect(error('12345::')).toContain('"12345" is not a group of 1-4 hex digits');
    expect(error('g::1')).toContain('is not a group');
    expect(error(':1:2:3:4:5:6:7')).toContain('empty group');
    expect(error(':::')).toContain("more than one '::'");
    expect(error('::1.2.3.4:5')).toContain('embedded IPv4 address may only end it');
    expect(error('::01.2.3.4')).toContain('embedded IPv4 part');
    expect(error('1.2.3.4::')).toContain('embedded IPv4 address may only end it');
  });

  it('refuses brackets, prefix lengths, empty text and non-text', () => {
    expect(error('[fd00::1]')).toContain('brackets');
    expect(error('198.18.0.0/24')).toBe(
      '"198.18.0.0/24" has a prefix length: this field takes a single address; write 198.18.0.0',
    );
    expect(error('')).toContain('empty');
    expect(error(42 as unknown as string)).toBe('expected an IP address as text, got number');
  });

  it('keeps an IPv4-mapped IPv6 address in family 6, formatted in hex', () => {
    expect(parseIp('::ffff:198.18.0.1')).toEqual({ ok: true, value: { family: 6, value: 0xffffc6120001n } });
    expect(canonicalIp('::ffff:198.18.0.1')).toEqual({ ok: true, value: '::ffff:c612:1' });
  });
});

describe('formatIp / canonicalIp (RFC 5952)', () => {
  it('compresses the longest zero run (first on ties), never a single group, lower case', () => {
    expect(canonicalIpOrThrow('FD00:0:0:0:0:0:0:55')).toBe('fd00::55');
    expect(canonicalIpOrThrow('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(canonicalIpOrThrow('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIpOrThrow('2001:db8:1:2:3:4:0:5')).toBe('2001:db8:1:2:3:4:0:5');
    expect(canonicalIpOrThrow('1:0:0:1:0:0:0:1')).toBe('1:0:0:1::1');
    expect(formatIp(6, 0n)).toBe('::');
    expect(formatIp(4, 0xc6120001n)).toBe('198.18.0.1');
  });

  it('canonicalIpOrText canonicalises addresses and leaves anything else as written', () => {
    expect(canonicalIpOrText('FD00:0::55')).toBe('fd00::55');
    expect(canonicalIpOrText('fd00::55%eth0')).toBe('fd00::55%eth0');
    expect(canonicalIpOrText(' 10.0.0.1')).toBe(' 10.0.0.1');
  });

  it('the …OrThrow variants throw NetaddrError with the same message and a stable code', () => {
    expect(() => parseIpOrThrow('fe80::1%eth0')).toThrow(NetaddrError);
    try {
      canonicalIpOrThrow(' 10.0.0.1');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NetaddrError);
      expect((e as NetaddrError).code).toBe('ERR_NETADDR_INVALID');
      expect((e as NetaddrError).input).toBe(' 10.0.0.1');
      expect((e as NetaddrError).message).toBe(error(' 10.0.0.1'));
    }
  });
});

describe('bytes', () => {
  it('converts to and from network order', () => {
    expect([...ipToBytes(parseIpOrThrow('198.18.0.1'))]).toEqual([198, 18, 0, 1]);
    expect([...ipToBytes(parseIpOrThrow('fd00::1'))]).toEqual([0xfd, 0, ...new Array(13).fill(0), 1]);
    expect(ipFromBytes(Uint8Array.from([198, 18, 0, 1]))).toEqual({
      ok: true,
      value: { family: 4, value: 0xc6120001n },
    });
    expect(ipFromBytes(Uint8Array.from([1, 2, 3]))).toEqual({
      ok: false,
      error: 'an address is 4 (IPv4) or 16 (IPv6) bytes long, got 3',
    });
  });
});
