import { describe, expect, it } from 'vitest';
import { computeIpUsage, validateResource } from '../src/index.js';

// Address and pool arithmetic lives in @egressgateway/netaddr (and is tested there); these tests
// cover what crds builds on it: status.ipUsage and the messages admission gives.

const pool = ['198.18.0.10', '198.18.0.20-198.18.0.22', '198.18.1.0/30'];

describe('computeIpUsage', () => {
  it('counts an address in use once however it is spelled, and ignores addresses outside the pool', () => {
    expect(
      computeIpUsage(
        { ipv4: pool, ipv6: ['fd00::10-fd00::17'] },
        { ipv4: ['198.18.0.21', '198.18.0.21', '203.0.113.1'], ipv6: ['fd00::10', 'fd00:0::10'] },
      ),
    ).toEqual({ ipv4Total: 8, ipv4Free: 7, ipv6Total: 8, ipv6Free: 7 });
  });

  it('counts overlapping entries and blanks once, and clamps a /64 to the largest safe integer', () => {
    expect(
      computeIpUsage({ ipv4: ['198.18.0.10', '', '198.18.0.10'] }, { ipv4: [], ipv6: [] }).ipv4Total,
    ).toBe(1);
    expect(computeIpUsage({ ipv6: ['fd00::/64'] }, { ipv4: [], ipv6: ['fd00::1'] })).toEqual({
      ipv4Total: 0,
      ipv4Free: 0,
      ipv6Total: Number.MAX_SAFE_INTEGER,
      ipv6Free: Number.MAX_SAFE_INTEGER,
    });
  });

  it('does not count an in-use address with a zone or whitespace as in the pool', () => {
    expect(computeIpUsage({ ipv4: pool }, { ipv4: [' 198.18.0.10'], ipv6: [] }).ipv4Free).toBe(8);
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

  it('reports a bad pool entry at its index as written, blanks included', () => {
    expect(errors(gateway({ ipv4: ['', '198.18.0.1', '10.6.1.70/28'] }))).toContain(
      'spec.ippools.ipv4[2]: "10.6.1.70/28" has host bits set: write the network address, 10.6.1.64/28',
    );
  });
});
