import { describe, expect, it } from 'vitest';
import { InvalidStateError } from './errors.js';
import { type NodeDatapathState, validateState } from './model.js';

const base: NodeDatapathState = {
  egressInterface: 'eth0',
  tunnel: {
    name: 'egress.vxlan',
    vni: 100,
    port: 7789,
    localUnderlay: '198.18.0.21',
    ipv4: '198.19.255.21/24',
    mac: '02:00:00:ff:00:21',
    peers: [{ nodeName: 'gw1', underlay: '198.18.0.11', ipv4: '198.19.255.11', mac: '02:00:00:ff:00:11' }],
  },
  markRoutes: [{ nodeName: 'gw1', mark: 0x26d9b723, table: 1001 }],
  eips: ['198.18.0.50', 'fd00:18::50'],
  steering: [{ id: 'p', sources: ['198.19.1.2'], destinations: 'all', mark: 0x26d9b723 }],
  snat: [{ id: 'p', sources: ['198.19.1.0/24'], destinations: ['198.18.0.100/32'], eip: '198.18.0.50' }],
};

function pathOf(state: NodeDatapathState): string | undefined {
  try {
    validateState(state);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidStateError);
    expect((e as InvalidStateError).code).toBe('INVALID_STATE');
    return (e as InvalidStateError).path;
  }
}

describe('validateState', () => {
  it('accepts a well-formed state', () => {
    expect(pathOf(base)).toBeUndefined();
  });

  it('names the offending field', () => {
    expect(pathOf({ ...base, markRoutes: [{ nodeName: 'gw1', mark: 0x12000001, table: 1001 }] })).toBe(
      'markRoutes[0].mark',
    );
    expect(pathOf({ ...base, markRoutes: [{ nodeName: 'gw1', mark: 0x26000001, table: 5 }] })).toBe(
      'markRoutes[0].table',
    );
    expect(pathOf({ ...base, markRoutes: [{ nodeName: 'nobody', mark: 0x26000001, table: 1001 }] })).toBe(
      'markRoutes[0].nodeName',
    );
    expect(pathOf({ ...base, eips: ['198.18.0.50', '198.18.0.050'.replace('050', '50')] })).toBe('eips[1]');
    expect(pathOf({ ...base, eips: ['198.18.0.0/24'] })).toBe('eips[0]');
    expect(
      pathOf({
        ...base,
        snat: [{ id: 'p', sources: ['fd00::/64'], destinations: 'all', eip: '198.18.0.50' }],
      }),
    ).toBe('snat[0].sources[0]');
    expect(
      pathOf({ ...base, steering: [{ id: 'p', sources: ['nope'], destinations: 'all', mark: 0x26000001 }] }),
    ).toBe('steering[0].sources[0]');
    expect(pathOf({ ...base, egressInterface: 'a/b' })).toBe('egressInterface');
  });

  it('rejects tunnel parameters out of range', () => {
    const t = base.tunnel as NonNullable<NodeDatapathState['tunnel']>;
    expect(pathOf({ ...base, tunnel: { ...t, vni: 1 << 24 } })).toBe('tunnel.vni');
    expect(pathOf({ ...base, tunnel: { ...t, port: 0 } })).toBe('tunnel.port');
    expect(pathOf({ ...base, tunnel: { ...t, mac: 'zz' } })).toBe('tunnel.mac');
    expect(pathOf({ ...base, tunnel: { ...t, ipv4: '198.19.255.21' } })).toBe('tunnel.ipv4');
    expect(pathOf({ ...base, tunnel: { ...t, name: 'eth0' } })).toBe('tunnel.name');
  });
});

describe('validateState: addresses as @egressgateway/netaddr reads them (issue 17)', () => {
  function messageOf(state: NodeDatapathState): string | undefined {
    try {
      validateState(state);
      return undefined;
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidStateError);
      return (e as InvalidStateError).message;
    }
  }

  it('refuses an EIP with a zone index instead of binding it without the zone', () => {
    expect(messageOf({ ...base, eips: ['fd00:18::50%eth0'] })).toBe(
      'eips[0]: "fd00:18::50%eth0" has a zone index (%eth0): a zone names a link of one host and is not accepted here; write fd00:18::50',
    );
    expect(
      messageOf({
        ...base,
        snat: [{ ...(base.snat[0] as (typeof base.snat)[number]), eip: 'fd00:18::50%2' }],
      }),
    ).toContain('snat[0].eip: "fd00:18::50%2" has a zone index');
    expect(
      pathOf({
        ...base,
        steering: [
          { ...(base.steering[0] as (typeof base.steering)[number]), sources: ['fd00:19::/64%eth0'] },
        ],
      }),
    ).toBe('steering[0].sources[0]');
  });

  it('refuses surrounding whitespace with a message naming it (no TypeError)', () => {
    expect(messageOf({ ...base, eips: [' 198.18.0.50'] })).toBe(
      'eips[0]: " 198.18.0.50" has leading or trailing whitespace: remove it',
    );
    expect(pathOf({ ...base, bypassDestinations: ['198.19.0.0/16 '] })).toBe('bypassDestinations[0]');
  });
});
