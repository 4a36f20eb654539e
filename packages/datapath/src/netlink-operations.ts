import { writeFile } from 'node:fs/promises';
import { familyOf } from '@egressgateway/netaddr';
import { AttrStream, FlagsNew, ifla } from 'netlink';
import { DatapathError, toNetlinkError } from './errors.js';
import { type NetlinkKernel, TUNNEL_ALIAS } from './kernel-netlink.js';
import { addressToBuffer, macToBuffer } from './netlink-bytes.js';
import type { DatapathOperation } from './operations.js';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_BRIDGE = 7;
/** RT_TABLE_UNSPEC in the 8-bit header field: the real id travels in the 32-bit RTA_TABLE/FRA_TABLE. */
const TABLE_IN_ATTR = 252;
const afOf = (f: 4 | 6): number => (f === 4 ? AF_INET : AF_INET6);

/** Executes one netlink operation (nft operations and eip-add are the binder's). */
export async function executeNetlinkOperation(kernel: NetlinkKernel, o: DatapathOperation): Promise<void> {
  // Creating or deleting a device changes the set of indexes.
  if (o.op === 'tunnel-create' || o.op === 'tunnel-delete') kernel.forgetLinks();
  switch (o.op) {
    case 'tunnel-delete':
      return ignore(['ENOENT', 'ENODEV'], o.op, async () => {
        const index = await kernel.linkIndex(o.name);
        return kernel.request((sock) => sock.delLink({ index }));
      });
    case 'tunnel-create': {
      const underlay = await kernel.linkIndex(o.underlayInterface);
      const local = addressToBuffer(o.localUnderlay);
      const port = Buffer.alloc(2);
      port.writeUInt16BE(o.port);
      const data = new AttrStream();
      data.emit(
        ifla.formatVxlan({
          id: o.vni,
          ...(local.length === 4 ? { local } : { local6: local }),
          port,
          learning: 0,
          link: underlay,
        }),
      );
      const info = new AttrStream();
      info.emit(ifla.formatInfo({ kind: 'vxlan', data: Buffer.concat(data.bufs) }));
      return run(o.op, () =>
        kernel.request((sock) =>
          sock.newLink(
            {},
            { ifname: o.name, linkinfo: Buffer.concat(info.bufs), address: macToBuffer(o.mac) },
            { flags: FlagsNew.CREATE | FlagsNew.EXCL },
          ),
        ),
      );
    }
    case 'tunnel-set': {
      const index = await kernel.linkIndex(o.name);
      return run(o.op, () =>
        kernel.request((sock) =>
          sock.setLink(
            { index, flags: { up: true }, change: { up: true } },
            { address: macToBuffer(o.mac), ifalias: TUNNEL_ALIAS },
          ),
        ),
      );
    }
    case 'tunnel-rp-filter':
      try {
        await writeFile(`/proc/sys/net/ipv4/conf/${o.name}/rp_filter`, String(o.value));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EROFS') throw err;
        // Containers get /proc/sys read-only; the write is only planned when filtering is strict.
        throw new DatapathError(
          'UNSUPPORTED',
          `net.ipv4.conf.all.rp_filter is 1 (strict) and /proc/sys is read-only here, so the tunnel's pod traffic would be dropped: set net.ipv4.conf.all.rp_filter to 0 or 2 on the node, or give the agent a writable /proc/sys/net`,
          { cause: err },
        );
      }
      return;
    case 'tunnel-address-add':
    case 'tunnel-address-del': {
      const [addr = '', len = '0'] = o.cidr.split('/');
      const family = familyOf(addr) ?? 4;
      const index = await kernel.linkIndex(o.name);
      const bytes = addressToBuffer(addr);
      const head = {
        family: afOf(family),
        prefixlen: Number(len),
        index,
        flags: family === 6 ? { nodad: true as const } : {},
      };
      const attrs = {
        local: bytes,
        address: bytes,
        ...(family === 6 ? { flags: { nodad: true as const } } : {}),
      };
      if (o.op === 'tunnel-address-add') {
        return ignore(['EEXIST'], o.op, () =>
          kernel.request((sock) =>
            sock.newAddress(head, attrs, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }),
          ),
        );
      }
      return ignore(['EADDRNOTAVAIL', 'ENOENT'], o.op, () =>
        kernel.request((sock) => sock.delAddress(head, attrs)),
      );
    }
    case 'fdb-add':
    case 'fdb-del': {
      const ifindex = await kernel.linkIndex(o.name);
      const head = {
        family: AF_BRIDGE,
        ifindex,
        state: { permanent: true as const },
        flags: { self: true as const },
      };
      const attrs = { lladdr: macToBuffer(o.mac), dst: addressToBuffer(o.dst) };
      if (o.op === 'fdb-add') {
        return ignore(['EEXIST'], o.op, () =>
          kernel.request((sock) =>
            sock.newNeighbor(head, attrs, { flags: FlagsNew.CREATE | FlagsNew.APPEND }),
          ),
        );
      }
      return ignore(['ENOENT'], o.op, () => kernel.request((sock) => sock.delNeighbor(head, attrs)));
    }
    case 'neigh-add':
    case 'neigh-del': {
      const ifindex = await kernel.linkIndex(o.name);
      const head = { family: afOf(familyOf(o.ip) ?? 4), ifindex, state: { permanent: true as const } };
      const attrs = { dst: addressToBuffer(o.ip), lladdr: macToBuffer(o.mac) };
      if (o.op === 'neigh-add') {
        return run(o.op, () =>
          kernel.request((sock) =>
            sock.newNeighbor(head, attrs, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }),
          ),
        );
      }
      return ignore(['ENOENT'], o.op, () => kernel.request((sock) => sock.delNeighbor(head, attrs)));
    }
    case 'route-add':
    case 'route-del': {
      const head = {
        family: afOf(o.family),
        dstLen: o.dst === 'default' ? 0 : Number(o.dst.split('/')[1]),
        table: TABLE_IN_ATTR,
        protocol: kernel.own.protocol,
        scope: 'UNIVERSE' as const,
        type: 'UNICAST' as const,
      };
      const attrs = {
        table: o.table,
        ...(o.dst === 'default' ? {} : { dst: addressToBuffer(o.dst.split('/')[0] ?? '') }),
        ...(o.gateway === '' ? {} : { gateway: addressToBuffer(o.gateway) }),
      };
      if (o.op === 'route-add') {
        const oif = await kernel.linkIndex(o.dev);
        return run(o.op, () =>
          kernel.request((sock) =>
            sock.newRoute(head, { ...attrs, oif }, { flags: FlagsNew.CREATE | FlagsNew.REPLACE }),
          ),
        );
      }
      return ignore(['ESRCH', 'ENOENT'], o.op, () => kernel.request((sock) => sock.delRoute(head, attrs)));
    }
    case 'rule-add':
    case 'rule-del': {
      const head = { family: afOf(o.family), action: 'toTbl' as const, table: TABLE_IN_ATTR };
      const attrs = {
        priority: o.priority,
        fwmark: o.mark,
        fwmask: 0xffffffff,
        table: o.table,
        protocol: kernel.own.protocol,
      };
      if (o.op === 'rule-add') {
        return ignore(['EEXIST'], o.op, () =>
          kernel.request((sock) => sock.newRule(head, attrs, { flags: FlagsNew.CREATE | FlagsNew.EXCL })),
        );
      }
      return ignore(['ENOENT'], o.op, () => kernel.request((sock) => sock.delRule(head, attrs)));
    }
    case 'eip-add':
      throw new DatapathError('UNSUPPORTED', 'eip-add is executed by the binder (it needs the lifetime)');
    case 'eip-del': {
      const family = familyOf(o.address) ?? 4;
      const index = await kernel.linkIndex(o.interface);
      const bytes = addressToBuffer(o.address);
      return ignore(['EADDRNOTAVAIL', 'ENOENT', 'ENODEV'], o.op, () =>
        kernel.request((sock) =>
          sock.delAddress(
            { family: afOf(family), prefixlen: family === 4 ? 32 : 128, index },
            { local: bytes, address: bytes },
          ),
        ),
      );
    }
    default:
      throw new DatapathError('UNSUPPORTED', `operation ${o.op} is not a netlink operation`);
  }
}

async function run(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    throw toNetlinkError(what, e);
  }
}

/** Runs `fn`, treating the listed errnos as "already in the wanted state". */
async function ignore(errnos: string[], what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const err = e instanceof DatapathError ? e : toNetlinkError(what, e);
    if (err instanceof DatapathError && 'errno' in err && errnos.includes(String(err.errno))) return;
    throw err;
  }
}
