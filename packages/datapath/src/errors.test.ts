import { describe, expect, it } from 'vitest';
import { NetlinkError, NftError, toNetlinkError } from './errors.js';

describe('errors', () => {
  it('maps the netlink package rejection text to a typed error with the errno', () => {
    const e = toNetlinkError('add address 198.18.0.50 dev eth0', new Error('Request rejected: EEXIST'));
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe('NETLINK');
    expect(e.errno).toBe('EEXIST');
    expect(e.message).toBe('add address 198.18.0.50 dev eth0: EEXIST');
    expect(toNetlinkError('x', 'weird').errno).toBe('UNKNOWN');
  });

  it('keeps nft diagnostics', () => {
    const e = new NftError('nft -f - failed', 'Error: syntax error\nline 2\n');
    expect(e.code).toBe('NFT');
    expect(e.stderr).toContain('syntax error');
    expect(e.message).toBe('nft -f - failed: Error: syntax error | line 2');
  });
});
