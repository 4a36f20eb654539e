/**
 * fast-check arbitraries of valid egress gateway objects, for property tests in this package and
 * in yours. Every generated object passes `validateResource`.
 *
 * @example
 * import fc from 'fast-check';
 * import { arbEgressGateway } from '@egressgateway/crds/testing';
 * fc.assert(fc.property(arbEgressGateway(), (gw) => myController.accepts(gw)));
 */

import { formatIp } from '@egressgateway/netaddr';
import fc from 'fast-check';
import { API_GROUP_VERSION, TUNNEL_PHASES } from '../constants.js';
import type {
  EgressClusterInfo,
  EgressClusterPolicy,
  EgressGateway,
  EgressPolicy,
  EgressTunnel,
} from '../schemas/index.js';
import type { EgressObject } from '../validate.js';

/** A DNS-label name such as `node-3` or `a1`. */
export const arbName = (): fc.Arbitrary<string> =>
  fc
    .tuple(fc.constantFrom('a', 'b', 'gw', 'node', 'policy', 'x'), fc.nat({ max: 999 }))
    .map(([p, n]) => `${p}-${n}`);

/** A label map with valid keys and values. */
export const arbLabels = (): fc.Arbitrary<Record<string, string>> =>
  fc.dictionary(
    fc.constantFrom('egress', 'app', 'zone', 'example.com/role', 'tier'),
    fc.constantFrom('true', 'web', 'a', 'zone-1', ''),
    { maxKeys: 3 },
  );

/** A valid label selector (matchLabels and/or matchExpressions). */
export const arbSelector = () =>
  fc.record(
    {
      matchLabels: arbLabels(),
      matchExpressions: fc.array(
        fc.oneof(
          fc.record({
            key: fc.constantFrom('egress', 'zone', 'tier'),
            operator: fc.constantFrom('In' as const, 'NotIn' as const),
            values: fc.uniqueArray(fc.constantFrom('true', 'a', 'b', 'zone-1'), {
              minLength: 1,
              maxLength: 3,
            }),
          }),
          fc.record({
            key: fc.constantFrom('egress', 'zone', 'tier'),
            operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
          }),
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: [] },
  );

/**
 * A label selector with at least one requirement: what a gateway's `nodeSelector.selector` and a
 * policy's `podSelector` must be (an empty one would select every node or pod).
 */
export const arbNonEmptySelector = () =>
  arbSelector().filter(
    (s) => Object.keys(s.matchLabels ?? {}).length > 0 || (s.matchExpressions ?? []).length > 0,
  );

const V4_BASE = 0xc6120000n; // 198.18.0.0/15, the benchmarking range
const V6_BASE = 0xfd00n << 112n;

/**
 * Dual-stack pools of the same size (as `@egressgateway/netaddr` counts them: an IPv4 CIDR without
 * its network and broadcast addresses), written as a mix of single addresses, ranges and CIDRs,
 * starting at a random offset inside 198.18.0.0/15 and fd00::/16.
 */
export const arbPools = (maxSize = 40) =>
  fc
    .record({
      sizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
      offset4: fc.nat({ max: 60_000 }),
      offset6: fc.bigInt({ min: 0n, max: 1n << 60n }),
      dual: fc.boolean(),
      forms: fc.array(fc.constantFrom('single', 'range', 'cidr'), { minLength: 5, maxLength: 5 }),
    })
    .map(({ sizes, offset4, offset6, dual, forms }) => {
      const write = (family: 4 | 6, base: bigint) => {
        const entries: string[] = [];
        let next = base;
        sizes.forEach((n, i) => {
          const form = forms[i % forms.length];
          if (n === 1 || form === 'single') {
            for (let k = 0; k < n; k++) entries.push(formatIp(family, next + BigInt(k)));
            next += BigInt(n);
          } else if (form === 'cidr') {
            // Round up to an aligned power-of-two block. An IPv4 block of 4 or more leaves out its
            // network and broadcast addresses (as upstream): the IPv6 pool writes the same number
            // of addresses as a range, so that dual-stack pools stay the same size.
            const bits = Math.ceil(Math.log2(n));
            const size = 1n << BigInt(bits);
            const usable4 = bits >= 2 ? size - 2n : size;
            if (family === 6 && usable4 !== size) {
              entries.push(`${formatIp(family, next)}-${formatIp(family, next + usable4 - 1n)}`);
              next += usable4;
            } else {
              next = ((next + size - 1n) / size) * size;
              entries.push(`${formatIp(family, next)}/${(family === 4 ? 32 : 128) - bits}`);
              next += size;
            }
          } else {
            entries.push(`${formatIp(family, next)}-${formatIp(family, next + BigInt(n - 1))}`);
            next += BigInt(n);
          }
        });
        return entries;
      };
      const ipv4 = write(4, V4_BASE + BigInt(offset4));
      return { ipv4, ipv6: dual ? write(6, V6_BASE + offset6 * 256n) : undefined };
    })
    .filter(({ ipv4 }) => ipv4.length <= maxSize);

/** A valid EgressGateway (status included or not). */
export const arbEgressGateway = (): fc.Arbitrary<EgressGateway> =>
  fc
    .record({
      name: arbName(),
      pools: arbPools(),
      selector: arbNonEmptySelector(),
      clusterDefault: fc.option(fc.boolean(), { nil: undefined }),
      useDefault: fc.boolean(),
    })
    .map(({ name, pools, selector, clusterDefault, useDefault }) => {
      const firstOf = (entries: readonly string[]) => {
        const e = entries[0] ?? '';
        return e.includes('/') || e.includes('-') ? undefined : e;
      };
      const ippools: NonNullable<EgressGateway['spec']>['ippools'] = { ipv4: pools.ipv4 };
      if (pools.ipv6) ippools.ipv6 = pools.ipv6;
      const d4 = useDefault ? firstOf(pools.ipv4) : undefined;
      if (d4) ippools.ipv4DefaultEIP = d4;
      const d6 = useDefault && pools.ipv6 ? firstOf(pools.ipv6) : undefined;
      if (d6) ippools.ipv6DefaultEIP = d6;
      const gw: EgressGateway = {
        apiVersion: API_GROUP_VERSION,
        kind: 'EgressGateway',
        metadata: { name },
        spec: { ippools, nodeSelector: { selector } },
      };
      if (clusterDefault !== undefined && gw.spec) gw.spec.clusterDefault = clusterDefault;
      return gw;
    });

const arbCidr4 = () =>
  fc
    .tuple(fc.nat({ max: 255 }), fc.constantFrom(24, 32))
    .map(([n, p]) => `198.19.${n}.0/${p === 32 ? 32 : 24}`);

const policyBase = (gatewayName?: string) =>
  fc.record({
    name: arbName(),
    gateway: gatewayName === undefined ? fc.option(arbName(), { nil: undefined }) : fc.constant(gatewayName),
    bySelector: fc.boolean(),
    selector: arbNonEmptySelector(),
    subnets: fc.array(arbCidr4(), { minLength: 1, maxLength: 3 }),
    dest: fc.array(fc.constantFrom('203.0.113.0/24', '198.51.100.7/32', '192.0.2.0/24', 'fd00:6::/64'), {
      maxLength: 3,
    }),
    useNodeIP: fc.boolean(),
    allocator: fc.option(fc.constantFrom('default' as const, 'rr' as const), { nil: undefined }),
  });

function policySpec(p: {
  gateway: string | undefined;
  bySelector: boolean;
  selector: object;
  subnets: string[];
  dest: string[];
  useNodeIP: boolean;
  allocator: 'default' | 'rr' | undefined;
}) {
  return {
    ...(p.gateway ? { egressGatewayName: p.gateway } : {}),
    egressIP: { useNodeIP: p.useNodeIP, ...(p.allocator ? { allocatorPolicy: p.allocator } : {}) },
    appliedTo: p.bySelector ? { podSelector: p.selector } : { podSubnet: p.subnets },
    destSubnet: p.dest,
  };
}

/** A valid EgressPolicy in namespace `default` (gateway name random unless given). */
export const arbEgressPolicy = (gatewayName?: string): fc.Arbitrary<EgressPolicy> =>
  policyBase(gatewayName).map((p) => ({
    apiVersion: API_GROUP_VERSION,
    kind: 'EgressPolicy',
    metadata: { name: p.name, namespace: 'default' },
    spec: policySpec(p),
  }));

/** A valid EgressClusterPolicy. */
export const arbEgressClusterPolicy = (gatewayName?: string): fc.Arbitrary<EgressClusterPolicy> =>
  fc.tuple(policyBase(gatewayName), fc.option(arbSelector(), { nil: undefined })).map(([p, ns]) => {
    const spec = policySpec(p);
    return {
      apiVersion: API_GROUP_VERSION,
      kind: 'EgressClusterPolicy',
      metadata: { name: p.name },
      spec: { ...spec, appliedTo: { ...spec.appliedTo, ...(ns ? { namespaceSelector: ns } : {}) } },
    };
  });

/** A valid EgressTunnel with a status as the controller and agent write it. */
export const arbEgressTunnel = (): fc.Arbitrary<EgressTunnel> =>
  fc
    .record({
      name: arbName(),
      mark: fc.integer({ min: 0x26000001, max: 0x26ffffff }),
      mac: fc.uint8Array({ minLength: 5, maxLength: 5 }),
      host: fc.nat({ max: 65_000 }),
      phase: fc.constantFrom(...TUNNEL_PHASES),
      heartbeat: fc.integer({ min: Date.UTC(2023, 0, 1), max: Date.UTC(2030, 0, 1) }),
    })
    .map(({ name, mark, mac, host, phase, heartbeat }) => ({
      apiVersion: API_GROUP_VERSION,
      kind: 'EgressTunnel',
      metadata: { name },
      spec: {},
      status: {
        mark: `0x${mark.toString(16).padStart(8, '0')}`,
        phase,
        lastHeartbeatTime: new Date(heartbeat).toISOString(),
        tunnel: {
          mac: ['66', ...Array.from(mac, (b) => b.toString(16).padStart(2, '0'))].join(':'),
          ipv4: formatIp(4, V4_BASE + 0x10000n + BigInt(host)),
          ipv6: formatIp(6, V6_BASE + 0xff00n * (1n << 64n) + BigInt(host)),
          parent: { name: 'eth0', ipv4: formatIp(4, V4_BASE + BigInt(host)) },
        },
      },
    }));

/** A valid EgressClusterInfo singleton. */
export const arbEgressClusterInfo = (): fc.Arbitrary<EgressClusterInfo> =>
  fc
    .record({
      mode: fc.constantFrom('auto' as const, 'k8s' as const, 'calico' as const),
      extra: fc.array(arbCidr4(), { maxLength: 3 }),
      clusterIP: fc.boolean(),
    })
    .map(({ mode, extra, clusterIP }) => ({
      apiVersion: API_GROUP_VERSION,
      kind: 'EgressClusterInfo',
      metadata: { name: 'default' },
      spec: { autoDetect: { podCidrMode: mode, clusterIP, nodeIP: true }, extraCidr: extra },
    }));

/** Any valid object of the five kinds. */
export const arbEgressObject = (): fc.Arbitrary<EgressObject> =>
  fc.oneof(
    arbEgressGateway(),
    arbEgressTunnel(),
    arbEgressPolicy(),
    arbEgressClusterPolicy(),
    arbEgressClusterInfo(),
  );
