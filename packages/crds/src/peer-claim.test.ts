import { describe, expect, it } from 'vitest';
import { formatPeerClaims, type PeerClaim, parsePeerClaims } from './peer-claim.js';

const a: PeerClaim = { gateway: 'gw', ipv4: '198.51.100.10', ipv6: '', from: 'node1', epoch: 5 };
const b: PeerClaim = { gateway: 'gw', ipv4: '198.51.100.9', ipv6: 'fd00::9', from: 'node2' };

describe('peer claim annotation', () => {
  it('round-trips claims, sorted so that equal sets give equal text', () => {
    const text = formatPeerClaims([a, b]);
    expect(text).toBe(formatPeerClaims([b, a]));
    expect(parsePeerClaims(text ?? undefined)).toEqual({ claims: [a, b], errors: [] });
  });

  it('formats no claim as null (the merge patch removes the annotation)', () => {
    expect(formatPeerClaims([])).toBeNull();
    expect(parsePeerClaims(undefined)).toEqual({ claims: [], errors: [] });
  });

  it('leaves out malformed entries and names the field', () => {
    const r = parsePeerClaims(
      JSON.stringify([
        a,
        { gateway: 'gw', ipv4: 1, ipv6: '', from: 'x' },
        { gateway: 'gw', ipv4: '', ipv6: '', from: 'x' },
      ]),
    );
    expect(r.claims).toEqual([a]);
    expect(r.errors.map((e) => e.message)).toEqual([
      '[1].ipv4 must be a string',
      '[2] needs a gateway, a from node and at least one of ipv4/ipv6',
    ]);
  });

  it('refuses a value that is not a JSON list', () => {
    expect(parsePeerClaims('{').errors[0]?.message).toMatch(/^not JSON/);
    expect(parsePeerClaims('{}').errors[0]?.message).toBe('expected a JSON list of claims');
    expect(parsePeerClaims('{}').claims).toEqual([]);
  });
});
