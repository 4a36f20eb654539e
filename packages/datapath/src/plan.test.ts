import { describe, expect, it } from 'vitest';
import type { NodeDatapathState } from './model.js';
import { EMPTY_OBSERVED } from './observed.js';
import { describeOperation } from './operations.js';
import { planDatapath } from './plan.js';
import { simulateOperations } from './simulate.js';

const worker = (gwMark: number): NodeDatapathState => ({
  egressInterface: 'eth0',
  tunnel: {
    name: 'egress.vxlan',
    vni: 100,
    port: 7789,
    localUnderlay: '198.18.0.21',
    ipv4: '198.19.255.21/24',
    mac: '02:00:00:ff:00:21',
    peers: [
      { nodeName: 'gw1', underlay: '198.18.0.11', ipv4: '198.19.255.11', mac: '02:00:00:ff:00:11' },
      { nodeName: 'gw2', underlay: '198.18.0.12', ipv4: '198.19.255.12', mac: '02:00:00:ff:00:12' },
    ],
  },
  markRoutes: [
    { nodeName: 'gw1', mark: 0x26000011, table: 1011 },
    { nodeName: 'gw2', mark: 0x26000012, table: 1012 },
  ],
  eips: [],
  steering: [{ id: 'p', sources: ['198.19.1.2'], destinations: ['198.18.0.100/32'], mark: gwMark }],
  snat: [],
});

const texts = (ops: ReturnType<typeof planDatapath>): string[] =>
  ops.map(describeOperation).map((t) => t.replace(/structure \w+/, 'structure S'));

describe('planDatapath', () => {
  it('builds a fresh worker in dependency order: device, addresses, peers, routes, rules, nft', () => {
    expect(texts(planDatapath(EMPTY_OBSERVED, worker(0x26000011)))).toEqual([
      'tunnel-create egress.vxlan vni 100 port 7789 local 198.18.0.21',
      'tunnel-set egress.vxlan address 02:00:00:ff:00:21 up',
      'tunnel-rp-filter egress.vxlan 2',
      'tunnel-address-add 198.19.255.21/24 dev egress.vxlan',
      'fdb-add 02:00:00:ff:00:11 dst 198.18.0.11 dev egress.vxlan',
      'fdb-add 02:00:00:ff:00:12 dst 198.18.0.12 dev egress.vxlan',
      'neigh-add 198.19.255.11 lladdr 02:00:00:ff:00:11 dev egress.vxlan',
      'neigh-add 198.19.255.12 lladdr 02:00:00:ff:00:12 dev egress.vxlan',
      'route-add default via 198.19.255.11 dev egress.vxlan table 1011',
      'route-add default via 198.19.255.12 dev egress.vxlan table 1012',
      'rule-add -4 fwmark 0x26000011 lookup 1011 priority 99',
      'rule-add -4 fwmark 0x26000012 lookup 1012 priority 99',
      'nft-replace structure S',
    ]);
  });

  it('switching the gateway of a policy only changes set elements', () => {
    const before = simulateOperations(EMPTY_OBSERVED, planDatapath(EMPTY_OBSERVED, worker(0x26000011)));
    expect(texts(planDatapath(before, worker(0x26000012)))).toEqual(['nft-update steer4 -1 +1']);
  });

  it('binds a new EIP before it releases the old one (make before break)', () => {
    const gw = { ...worker(0x26000011), steering: [], eips: ['198.18.0.50'] };
    const before = simulateOperations(EMPTY_OBSERVED, planDatapath(EMPTY_OBSERVED, gw));
    const ops = texts(planDatapath(before, { ...gw, eips: ['198.18.0.51'] }));
    expect(ops.indexOf('eip-add 198.18.0.51 dev eth0')).toBeLessThan(
      ops.indexOf('eip-del 198.18.0.50 dev eth0'),
    );
  });

  it('recreates a tunnel whose immutable parameters changed, and re-adds what the kernel dropped with it', () => {
    const before = simulateOperations(EMPTY_OBSERVED, planDatapath(EMPTY_OBSERVED, worker(0x26000011)));
    const s = worker(0x26000011);
    const changed = { ...s, tunnel: { ...(s.tunnel as NonNullable<typeof s.tunnel>), vni: 200 } };
    const ops = texts(planDatapath(before, changed));
    expect(ops[0]).toBe('tunnel-delete egress.vxlan');
    expect(ops).toContain('route-add default via 198.19.255.11 dev egress.vxlan table 1011');
    expect(ops).not.toContain('rule-add -4 fwmark 0x26000011 lookup 1011 priority 99');
  });

  it('leaves an EIP that exists as a foreign address alone', () => {
    const observed = {
      ...EMPTY_OBSERVED,
      foreignAddresses: [{ address: '198.18.0.50', interface: 'eth0', validLft: null }],
    };
    const ops = planDatapath(observed, { ...worker(0x26000011), eips: ['198.18.0.50'] });
    expect(ops.some((o) => o.op === 'eip-add')).toBe(false);
  });

  it('an empty desired state removes every owned object', () => {
    const before = simulateOperations(
      EMPTY_OBSERVED,
      planDatapath(EMPTY_OBSERVED, { ...worker(0x26000011), eips: ['198.18.0.50'] }),
    );
    const ops = planDatapath(before, {
      egressInterface: 'eth0',
      markRoutes: [],
      eips: [],
      steering: [],
      snat: [],
    });
    const after = simulateOperations(before, ops);
    expect(after).toEqual({ ...EMPTY_OBSERVED });
    expect(texts(ops)).toEqual([
      'nft-delete',
      'eip-del 198.18.0.50 dev eth0',
      'rule-del -4 fwmark 0x26000011 lookup 1011 priority 99',
      'rule-del -4 fwmark 0x26000012 lookup 1012 priority 99',
      'tunnel-delete egress.vxlan',
    ]);
  });
});

describe('tunnel reverse-path filter', () => {
  const rpOps = (ops: ReturnType<typeof planDatapath>) =>
    texts(ops).filter((t) => t.startsWith('tunnel-rp-filter'));
  const existing = (rpFilter: number, all: number) => {
    const fresh = planDatapath(EMPTY_OBSERVED, worker(0x26000011));
    const created = simulateOperations(EMPTY_OBSERVED, fresh);
    const t = created.tunnel;
    if (t === null) throw new Error('simulation made no tunnel');
    return { ...created, tunnel: { ...t, rpFilter }, rpFilterAll: all, rpFilterDefault: rpFilter };
  };

  it('is written only when the effective filter (max of all and the device) would be strict', () => {
    // A new device starts with conf.default.
    expect(
      rpOps(planDatapath({ ...EMPTY_OBSERVED, rpFilterAll: 0, rpFilterDefault: 0 }, worker(0x26000011))),
    ).toEqual([]);
    expect(
      rpOps(planDatapath({ ...EMPTY_OBSERVED, rpFilterAll: 2, rpFilterDefault: 1 }, worker(0x26000011))),
    ).toEqual([]);
    expect(
      rpOps(planDatapath({ ...EMPTY_OBSERVED, rpFilterAll: 1, rpFilterDefault: 0 }, worker(0x26000011))),
    ).toEqual(['tunnel-rp-filter egress.vxlan 2']);
    expect(rpOps(planDatapath(existing(0, 0), worker(0x26000011)))).toEqual([]);
    expect(rpOps(planDatapath(existing(1, 0), worker(0x26000011)))).toEqual([
      'tunnel-rp-filter egress.vxlan 2',
    ]);
    expect(rpOps(planDatapath(existing(0, 1), worker(0x26000011)))).toEqual([
      'tunnel-rp-filter egress.vxlan 2',
    ]);
    expect(rpOps(planDatapath(existing(2, 1), worker(0x26000011)))).toEqual([]);
  });

  it('is written when the namespace values are unknown (as before they were read)', () => {
    expect(rpOps(planDatapath(EMPTY_OBSERVED, worker(0x26000011)))).toEqual([
      'tunnel-rp-filter egress.vxlan 2',
    ]);
  });
});
