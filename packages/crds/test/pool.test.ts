import { describe, expect, it } from 'vitest';
import { computeIpUsage, validateResource } from '../src/index.js';

// Address and pool arithmetic lives in @egressgateway/netaddr (and is tested there); these tests
// cover what crds builds on it: status.ipUsage and the messages admission gives.

// 198.18.0.10, 198.18.0.20-22 and 198.18.1.1-198.18.1.6 (a /29 without network and broadcast: 6)
const pool = ['198.18.0.10', '198.18.0.20-198.18.0.22', '198.18.1.0/29'];

describe('computeIpUsage', () => {
  it('counts an address in use once however it is spelled, and ignores addresses outside the pool', () => {
    expect(
      computeIpUsage(
        { ipv4: pool, ipv6: ['fd00::10-fd00::17'] },
        { ipv4: ['198.18.0.21', '198.18.0.21', '203.0.113.1'], ipv6: ['fd00::10', 'fd00:0::10'] },
      ),
    ).toEqual({ ipv4Total: 10, ipv4Free: 9, ipv6Total: 8, ipv6Free: 7 });
  });

  it('counts overlapping entries once, blanks and the other family not at all, and clamps a /64', () => {
    expect(
      computeIpUsage(
        { ipv4: ['198.18.0.10', '', '198.18.0.8-198.18.0.11', 'fd00::1'] },
        { ipv4: [], ipv6: [] },
      ).ipv4Total,
    ).toBe(4);
    // The network and broadcast addresses are not in the pool, so an EIP there is not counted as used.
    expect(
      computeIpUsage({ ipv4: ['198.18.1.0/30'] }, { ipv4: ['198.18.1.0', '198.18.1.2'], ipv6: [] }),
    ).toEqual({
      ipv4Total: 2,
      ipv4Free: 1,
      ipv6Total: 0,
      ipv6Free: 0,
    });
    expect(computeIpUsage({ ipv6: ['fd00::/64'] }, { ipv4: [], ipv6: ['fd00::1'] })).toEqual({
      ipv4Total: 0,
      ipv4Free: 0,
      ipv6Total: Number.MAX_SAFE_INTEGER,
      ipv6Free: Number.MAX_SAFE_INTEGER,
    });
  });

  it('does not count an in-use address with a zone or whitespace as in the pool', () => {
    expect(computeIpUsage({ ipv4: pool }, { ipv4: [' 198.18.0.10'], ipv6: [] }).ipv4Free).toBe(10);
    expect(computeIpUsage({ ipv6: ['fd00::10'] }, { ipv4: [], ipv6: ['fd00::10%eth0'] }).ipv6Free).toBe(1);
  });
});

describe('admission of addresses', () => {
  const gateway = (ippools: object) => ({
    apiVersion: 'egressgateway.spidernet.io/v1beta1',
    kind: 'EgressGateway',
    metadata: { name: 'egw1' },
    spec: { ippools, nodeSelector: { selector: { matchLabels: { egress: 'true' } } } },
  });
  const errors = (obj: unknown) => {
    const r = validateResource(obj);
    return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
  };

  it('names the zone index of a default EIP and the field that holds it', () => {
    expect(errors(gateway({ ipv6: ['fd00::10'], ipv6DefaultEIP: 'fd00::10%eth0' }))).toContain(
      'spec.ippools.ipv6DefaultEIP: "fd00::10%eth0" has a zone index (%eth0): a zone names a link of one host and is not accepted here; write fd00::10',
    );
  });

  it('refuses a default EIP with surrounding whitespace', () => {
    expect(errors(gateway({ ipv4: ['198.18.0.10'], ipv4DefaultEIP: ' 198.18.0.10' }))).toContain(
      'spec.ippools.ipv4DefaultEIP: " 198.18.0.10" has leading or trailing whitespace: remove it',
    );
  });

  // Issue 19: host bits were refused here before; upstream accepts its own example 10.6.1.70/28.
  it('reports a bad pool entry at its index as written, blanks included, and accepts host bits', () => {
    expect(errors(gateway({ ipv4: ['', '198.18.0.1', '10.6.1.70/28', '198.18.0.3 - 198.18.0.4'] }))).toEqual([
      'spec.ippools.ipv4[0]: the entry is blank: write an address, a range (first-last) or a CIDR, or remove it',
      'spec.ippools.ipv4[3]: "198.18.0.3 - 198.18.0.4" contains whitespace: write it without spaces, "198.18.0.3-198.18.0.4"',
    ]);
  });

  it('names the network address a default EIP points at', () => {
    expect(errors(gateway({ ipv4: ['198.18.1.1/30'], ipv4DefaultEIP: '198.18.1.0' }))).toEqual([
      'spec.ippools.ipv4DefaultEIP: 198.18.1.0 is the network address of 198.18.1.1/30, which a pool leaves out: choose another address of spec.ippools.ipv4',
    ]);
  });
});
