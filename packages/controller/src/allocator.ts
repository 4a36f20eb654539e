import { createHash } from 'node:crypto';
import { MARK_BASE } from '@egressgateway/crds';
import { formatIp, parseCidr, parseIp } from '@egressgateway/netaddr';

/** What the controller allocates for a node's EgressTunnel. */
export interface TunnelAllocation {
  /** `0x26xxxxxx`, unique per node. */
  mark: string;
  /** Locally administered unicast MAC of the node's VXLAN device, `66:..`. */
  mac: string;
  ipv4?: string;
  ipv6?: string;
}

/** Tunnel address ranges; at least one family. */
export interface TunnelCidrs {
  ipv4?: string | undefined;
  ipv6?: string | undefined;
}

/** A tunnel's current allocation as read from its status (any field may be missing). */
export interface ExistingAllocation {
  name: string;
  mark?: string | undefined;
  mac?: string | undefined;
  ipv4?: string | undefined;
  ipv6?: string | undefined;
}

const MARK_SPACE = 0x1000000;

function hash(name: string, salt: number): Buffer {
  return createHash('sha256').update(`${salt}:${name}`).digest();
}

/** Problem found in the configured tunnel CIDRs. */
export class TunnelCidrError extends Error {
  readonly code = 'EGW_TUNNEL_CIDR';
}

interface Range {
  family: 4 | 6;
  first: bigint;
  size: bigint;
}

function usableRange(cidr: string, family: 4 | 6): Range {
  const parsed = parseCidr(cidr);
  const c = parsed.ok ? parsed.value : undefined;
  if (!c || c.family !== family) {
    throw new TunnelCidrError(
      `tunnel ipv${family} CIDR "${cidr}" is not an IPv${family} CIDR like ${family === 4 ? '198.19.255.0/24' : 'fd00:ff::/64'}`,
    );
  }
  const bits = family === 4 ? 32 : 128;
  const total = 1n << BigInt(bits - c.prefix);
  // IPv4: skip the network and broadcast addresses when the subnet is big enough to have them.
  if (family === 4 && total >= 4n) return { family, first: c.network + 1n, size: total - 2n };
  return {
    family,
    first: family === 6 && total >= 2n ? c.network + 1n : c.network,
    size: family === 6 && total >= 2n ? total - 1n : total,
  };
}

/**
 * Central, collision-free tunnel allocation, stable across controller restarts and leader
 * changes: every value already written in a tunnel's status is kept (the allocator is rebuilt
 * from them), and a new node gets values derived from a hash of its name, probing past taken
 * ones. So the same node gets the same values on any replica, and nothing is ever reshuffled.
 */
export class TunnelAllocator {
  private readonly marks = new Map<number, string>();
  private readonly macs = new Map<string, string>();
  private readonly ips = new Map<string, string>();
  private readonly ranges: { ipv4?: Range; ipv6?: Range };

  constructor(cidrs: TunnelCidrs) {
    this.ranges = {
      ...(cidrs.ipv4 ? { ipv4: usableRange(cidrs.ipv4, 4) } : {}),
      ...(cidrs.ipv6 ? { ipv6: usableRange(cidrs.ipv6, 6) } : {}),
    };
    if (!this.ranges.ipv4 && !this.ranges.ipv6)
      throw new TunnelCidrError('no tunnel CIDR configured: set an ipv4 or ipv6 tunnel CIDR');
  }

  /** Records what a tunnel already holds, so nobody else gets it. Conflicting claims lose to the first. */
  adopt(existing: ExistingAllocation): void {
    const mark = existing.mark ? Number.parseInt(existing.mark, 16) : Number.NaN;
    if (Number.isFinite(mark) && !this.marks.has(mark)) this.marks.set(mark, existing.name);
    if (existing.mac && !this.macs.has(existing.mac.toLowerCase()))
      this.macs.set(existing.mac.toLowerCase(), existing.name);
    for (const ip of [existing.ipv4, existing.ipv6]) {
      const parsed = ip ? parseIp(ip) : undefined;
      const p = parsed?.ok ? parsed.value : undefined;
      if (p) {
        const key = formatIp(p.family, p.value);
        if (!this.ips.has(key)) this.ips.set(key, existing.name);
      }
    }
  }

  /** Forgets a deleted node's values (they may be reused by later nodes). */
  release(name: string): void {
    for (const m of [this.marks, this.macs, this.ips] as Array<Map<unknown, string>>) {
      for (const [k, owner] of m) if (owner === name) m.delete(k);
    }
  }

  /**
   * Completes a tunnel's allocation: keeps what it holds (if it is the holder of record) and
   * fills what is missing. Returns the full allocation.
   */
  allocate(existing: ExistingAllocation): TunnelAllocation {
    const { name } = existing;
    return {
      mark: this.keepOrAllocateMark(name, existing.mark),
      mac: this.keepOrAllocateMac(name, existing.mac),
      ...(this.ranges.ipv4 ? { ipv4: this.keepOrAllocateIp(name, existing.ipv4, this.ranges.ipv4) } : {}),
      ...(this.ranges.ipv6 ? { ipv6: this.keepOrAllocateIp(name, existing.ipv6, this.ranges.ipv6) } : {}),
    };
  }

  private keepOrAllocateMark(name: string, current: string | undefined): string {
    const held = current ? Number.parseInt(current, 16) : Number.NaN;
    if (
      Number.isFinite(held) &&
      held > MARK_BASE &&
      held < MARK_BASE + MARK_SPACE &&
      this.marks.get(held) === name
    ) {
      return formatMark(held);
    }
    const offset = hash(name, 0).readUInt32BE(0) % MARK_SPACE;
    for (let i = 0; i < MARK_SPACE; i++) {
      const candidate = MARK_BASE + ((offset + i) % MARK_SPACE);
      if (candidate === MARK_BASE) continue;
      const owner = this.marks.get(candidate);
      if (owner === undefined || owner === name) {
        this.marks.set(candidate, name);
        return formatMark(candidate);
      }
    }
    throw new TunnelCidrError('no free gateway mark left');
  }

  private keepOrAllocateMac(name: string, current: string | undefined): string {
    const held = current?.toLowerCase();
    if (held && this.macs.get(held) === name) return held;
    for (let salt = 0; ; salt++) {
      const h = hash(name, salt);
      // 0x66: locally administered (bit 1 set), unicast (bit 0 clear), as upstream's MACs.
      const mac = ['66', ...[0, 1, 2, 3, 4].map((i) => (h[i] ?? 0).toString(16).padStart(2, '0'))].join(':');
      const owner = this.macs.get(mac);
      if (owner === undefined || owner === name) {
        this.macs.set(mac, name);
        return mac;
      }
    }
  }

  private keepOrAllocateIp(name: string, current: string | undefined, range: Range): string {
    const parsed = current ? parseIp(current) : undefined;
    const p = parsed?.ok ? parsed.value : undefined;
    if (p && p.family === range.family && p.value >= range.first && p.value < range.first + range.size) {
      const key = formatIp(p.family, p.value);
      if (this.ips.get(key) === name) return key;
    }
    const h = hash(name, 1);
    const start = BigInt(`0x${h.subarray(0, 16).toString('hex')}`) % range.size;
    for (let i = 0n; i < range.size; i++) {
      const key = formatIp(range.family, range.first + ((start + i) % range.size));
      const owner = this.ips.get(key);
      if (owner === undefined || owner === name) {
        this.ips.set(key, name);
        return key;
      }
    }
    throw new TunnelCidrError(`tunnel CIDR for IPv${range.family} is full: use a larger one`);
  }
}

/** `0x26d9b723` form of a mark. */
export function formatMark(mark: number): string {
  return `0x${mark.toString(16).padStart(8, '0')}`;
}
