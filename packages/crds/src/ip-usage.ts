import {
  type AddressPool,
  canonicalIp,
  distinctPoolSize,
  parsePool,
  poolContains,
} from '@egressgateway/netaddr';

/** `status.ipUsage` of a gateway: totals from the pools, free = total minus addresses in use. */
export interface IpUsage {
  ipv4Total: number;
  ipv4Free: number;
  ipv6Total: number;
  ipv6Free: number;
}

/**
 * Computes `status.ipUsage` for pools and the addresses in use. Totals count the pool's addresses as
 * upstream does (`@egressgateway/netaddr`: IPv4 network and broadcast left out, overlapping entries
 * once), an address in use counts once however it is spelled, and counts above
 * `Number.MAX_SAFE_INTEGER` (a huge IPv6 pool) are clamped to it, as the field is an integer.
 */
export function computeIpUsage(
  ippools: { ipv4?: readonly string[] | undefined; ipv6?: readonly string[] | undefined },
  inUse: { ipv4: Iterable<string>; ipv6: Iterable<string> },
): IpUsage {
  const clamp = (n: bigint) => (n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n));
  // One family per pool, as the engine reads them: an entry of the other family counts in neither.
  const v4 = parsePool(ippools.ipv4, { family: 4 });
  const v6 = parsePool(ippools.ipv6, { family: 6 });
  const used = (pool: AddressPool, addrs: Iterable<string>) => {
    const seen = new Set<string>();
    for (const a of addrs) {
      const c = canonicalIp(a);
      if (c.ok && poolContains(pool, c.value)) seen.add(c.value);
    }
    return BigInt(seen.size);
  };
  const t4 = distinctPoolSize(v4);
  const t6 = distinctPoolSize(v6);
  return {
    ipv4Total: clamp(t4),
    ipv4Free: clamp(t4 - used(v4, inUse.ipv4)),
    ipv6Total: clamp(t6),
    ipv6Free: clamp(t6 - used(v6, inUse.ipv6)),
  };
}
