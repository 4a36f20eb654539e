import { formatIp } from '@egressgateway/netaddr';
import { createRtNetlink } from 'netlink';

/** The node's underlay interface and its addresses. */
export interface ParentInterface {
  name: string;
  ipv4?: string;
  ipv6?: string;
}

/** Thrown when the egress interface cannot be found. */
export class DetectError extends Error {
  readonly code = 'EGW_DETECT';
}

function toText(buf: { data: number[] } | Buffer | undefined, family: 4 | 6): string | undefined {
  if (!buf) return undefined;
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.data);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return formatIp(family, v);
}

/**
 * Finds the egress interface (the one named, or that of the IPv4 default route, else the IPv6
 * one) and its main addresses over netlink, in this process's network namespace. Host routes
 * (/32, /128) are skipped when the interface has other addresses: they are likely EIPs.
 */
export async function detectParentInterface(name?: string): Promise<ParentInterface> {
  const sock = createRtNetlink();
  try {
    const links = await sock.getLinks();
    const byIndex = new Map(links.map((l) => [l.data.index, l.attrs.ifname ?? ''] as const));
    let index: number | undefined;
    if (name) {
      index = links.find((l) => l.attrs.ifname === name)?.data.index;
      if (index === undefined)
        throw new DetectError(`egress interface "${name}" does not exist on this node`);
    } else {
      const routes = await sock.getRoutes();
      const defaults = routes.filter(
        (r) => r.data.dstLen === 0 && (r.attrs.table ?? r.data.table) === 254 && r.attrs.oif !== undefined,
      );
      const pick = defaults.find((r) => r.data.family === 2) ?? defaults.find((r) => r.data.family === 10);
      index = pick?.attrs.oif;
      if (index === undefined)
        throw new DetectError('no default route: name the egress interface (--egress-interface)');
    }
    const addrs = (await sock.getAddresses()).filter((a) => a.data.index === index && a.data.scope === 0);
    const choose = (family: 2 | 10, hostLen: number) => {
      const all = addrs.filter((a) => a.data.family === family);
      const main = all.filter((a) => (a.data.prefixlen ?? hostLen) < hostLen);
      const a = (main.length > 0 ? main : all)[0];
      return toText((a?.attrs.local ?? a?.attrs.address) as Buffer | undefined, family === 2 ? 4 : 6);
    };
    const ipv4 = choose(2, 32);
    const ipv6 = choose(10, 128);
    return { name: byIndex.get(index) ?? name ?? '', ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
  } finally {
    sock.socket.close();
  }
}
