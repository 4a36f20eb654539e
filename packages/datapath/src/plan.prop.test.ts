import { canonicalIpOrThrow } from '@egressgateway/netaddr';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeDatapathState, TunnelPeer } from './model.js';
import { desiredNftContent } from './nft-content.js';
import { EMPTY_OBSERVED, type ObservedState } from './observed.js';
import { planDatapath } from './plan.js';
import { simulateOperations } from './simulate.js';

const octet = fc.integer({ min: 0, max: 255 });
const podIp = octet.map((o) => `198.19.1.${o}`);
const podNet = fc.integer({ min: 24, max: 32 }).map((l) => `198.19.1.0/${l}`);
const dest = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((o) => `203.0.113.${o}/32`),
  fc.integer({ min: 20, max: 32 }).map((l) => `198.51.100.0/${l}`),
);
const podIp6 = fc.integer({ min: 1, max: 0xffff }).map((n) => `fd00:19:1::${n.toString(16)}`);
const dest6 = fc.integer({ min: 48, max: 128 }).map((l) => `fd00:99::/${l}`);

const peerNames = ['gw1', 'gw2', 'gw3', 'wk1'] as const;
const peers: TunnelPeer[] = peerNames.map((n, i) => ({
  nodeName: n,
  underlay: `198.18.0.${11 + i}`,
  ipv4: `198.19.255.${11 + i}`,
  ipv6: `fd00:19:ff::${11 + i}`,
  mac: `02:00:00:ff:00:${(0x11 + i).toString(16)}`,
}));
const markOf = (i: number): number => 0x26000011 + i;

/** A random desired state over a small universe, so that random pairs overlap a lot. */
const desiredState: fc.Arbitrary<NodeDatapathState> = fc
  .record({
    hasTunnel: fc.boolean(),
    vni: fc.constantFrom(100, 101),
    mac: fc.constantFrom('02:00:00:ff:00:21', '02:00:00:ff:00:22'),
    v6: fc.boolean(),
    peerSubset: fc.subarray([0, 1, 2, 3]),
    routeSubset: fc.subarray([0, 1, 2, 3]),
    eips: fc.uniqueArray(
      fc.oneof(
        octet.map((o) => `198.18.0.${o}`),
        octet.map((o) => `fd00:18::${o.toString(16)}`),
      ),
      {
        maxLength: 4,
      },
    ),
    steering: fc.array(
      fc.record({
        sources: fc.array(fc.oneof(podIp, podNet, podIp6), { minLength: 1, maxLength: 3 }),
        destinations: fc.oneof(
          fc.constant('all' as const),
          fc.array(fc.oneof(dest, dest6), { maxLength: 3 }),
        ),
        gw: fc.integer({ min: 0, max: 2 }),
      }),
      { maxLength: 5 },
    ),
    snat: fc.array(
      fc.record({
        sources: fc.array(podNet, { minLength: 1, maxLength: 2 }),
        eip: octet.map((o) => `198.18.0.${o}`),
      }),
      { maxLength: 3 },
    ),
    bypass: fc.array(fc.constantFrom('10.96.0.0/12', '10.244.0.0/16', 'fd00:96::/108'), { maxLength: 2 }),
  })
  .map((r) => {
    const tunnelPeers = r.peerSubset.map((i) => peers[i] as TunnelPeer);
    return {
      egressInterface: 'eth0',
      ...(r.hasTunnel
        ? {
            tunnel: {
              name: 'egress.vxlan',
              vni: r.vni,
              port: 7789,
              localUnderlay: '198.18.0.21',
              ipv4: '198.19.255.21/24',
              ...(r.v6 ? { ipv6: 'fd00:19:ff::21/64' } : {}),
              mac: r.mac,
              peers: tunnelPeers,
            },
          }
        : {}),
      markRoutes: r.hasTunnel
        ? r.routeSubset
            .filter((i) => r.peerSubset.includes(i))
            .map((i) => ({ nodeName: peerNames[i] as string, mark: markOf(i), table: 1000 + i }))
        : [],
      eips: r.eips,
      steering: r.steering.map((s, i) => ({
        id: `p${i}`,
        sources: s.sources,
        destinations: s.destinations,
        mark: markOf(s.gw),
      })),
      snat: r.snat.map((s, i) => ({
        id: `s${i}`,
        sources: s.sources,
        destinations: 'all' as const,
        eip: s.eip,
      })),
      bypassDestinations: r.bypass,
    } satisfies NodeDatapathState;
  });

const foreign = fc
  .array(fc.constantFrom('198.18.0.1', '198.18.0.2', 'fd00:18::1'), { maxLength: 2 })
  .map((a) => [...new Set(a)].map((address) => ({ address, interface: 'eth0', validLft: null })));

/** An arbitrary starting kernel: whatever an earlier desired state left, plus foreign addresses. */
const startState: fc.Arbitrary<ObservedState> = fc.tuple(desiredState, foreign).map(([prev, f]) => ({
  ...simulateOperations(EMPTY_OBSERVED, planDatapath(EMPTY_OBSERVED, prev)),
  foreignAddresses: f,
}));

describe('planDatapath properties', () => {
  it('applying the plan converges: a second plan is empty', () => {
    fc.assert(
      fc.property(startState, desiredState, (observed, desired) => {
        const after = simulateOperations(observed, planDatapath(observed, desired));
        expect(planDatapath(after, desired)).toEqual([]);
      }),
    );
  });

  it('after applying the plan the nft content and EIPs equal the desired ones', () => {
    fc.assert(
      fc.property(startState, desiredState, (observed, desired) => {
        const after = simulateOperations(observed, planDatapath(observed, desired));
        expect(after.nft).toEqual(desiredNftContent(desired));
        const foreignSet = new Set(observed.foreignAddresses.map((a) => a.address));
        const expectedEips = [...new Set(desired.eips.map(canonicalIpOrThrow))]
          .filter((e) => !foreignSet.has(e))
          .sort();
        expect(after.eips.map((e) => e.address).sort()).toEqual(expectedEips);
        if (desired.tunnel === undefined) expect(after.tunnel).toBeNull();
        else expect(after.tunnel?.vni).toBe(desired.tunnel.vni);
      }),
    );
  });

  it('never removes anything outside the owned set, and never touches foreign addresses', () => {
    fc.assert(
      fc.property(startState, desiredState, (observed, desired) => {
        const ops = planDatapath(observed, desired);
        for (const o of ops) {
          if (o.op === 'eip-del') {
            expect(observed.eips.some((e) => e.address === o.address && e.interface === o.interface)).toBe(
              true,
            );
          }
          if (o.op === 'eip-add') {
            expect(observed.foreignAddresses.some((a) => a.address === o.address)).toBe(false);
          }
          if (o.op === 'rule-del') expect(observed.rules).toContainEqual(stripOp(o));
          if (o.op === 'route-del') expect(observed.routes).toContainEqual(stripOp(o));
          if (o.op === 'tunnel-delete') expect(observed.tunnel?.name).toBe(o.name);
          if (o.op === 'nft-delete') expect(observed.nftTablePresent).toBe(true);
        }
        const after = simulateOperations(observed, ops);
        expect(after.foreignAddresses).toEqual(observed.foreignAddresses);
      }),
    );
  });

  it('planning twice for the same desired state yields nothing the second time, from an empty node', () => {
    fc.assert(
      fc.property(desiredState, (desired) => {
        const once = simulateOperations(EMPTY_OBSERVED, planDatapath(EMPTY_OBSERVED, desired));
        expect(planDatapath(once, desired)).toEqual([]);
      }),
    );
  });
});

function stripOp<T extends { op: string }>(o: T): Omit<T, 'op'> {
  const { op: _op, ...rest } = o;
  return rest;
}
