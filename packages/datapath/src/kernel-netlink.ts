import { readFile } from 'node:fs/promises';
import { familyOf, type IpFamily } from '@egressgateway/netaddr';
import { AttrStream, createRtNetlink, FlagsGet, FlagsNew, ifla, type RtNetlinkSocket, rt } from 'netlink';
import { DatapathError, toNetlinkError } from './errors.js';
import type { Ownership } from './model.js';
import { addressToBuffer, bufferToAddress, bufferToMac } from './netlink-bytes.js';
import type { ObservedAddress, ObservedRoute, ObservedRule, ObservedTunnel } from './observed.js';

/** IFLA_IFALIAS written on the tunnel device we create: how a restarted binder recognises it. */
export const TUNNEL_ALIAS = 'egressgateway:owned';

const AF_INET = 2;
const AF_INET6 = 10;
const AF_BRIDGE = 7;
/** IFA_PROTO: not modelled by the netlink package, so we encode and parse it ourselves. */
const IFA_PROTO = 11;

const afOf = (f: IpFamily): number => (f === 4 ? AF_INET : AF_INET6);
const familyFromAf = (af: number): IpFamily | undefined =>
  af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;

/** What the binder needs to know about a link. */
export interface LinkInfo {
  index: number;
  name: string;
  mac: string;
  up: boolean;
  alias: string | undefined;
  kind: string | undefined;
  vxlan: { vni: number; port: number; local: string; learning: boolean } | undefined;
}

/** An address from the dump, with the IFA_PROTO value the package's parser drops. */
export interface RawAddress {
  family: IpFamily;
  index: number;
  prefixLen: number;
  address: string;
  proto: number;
  validLft: number | null;
}

/** Kernel-facing half of the binder: reads owned objects and executes operations over rtnetlink. */
export class NetlinkKernel {
  private readonly sock: RtNetlinkSocket;
  /** What this kernel handle marks as owned. */
  readonly own: Ownership;

  constructor(own: Ownership) {
    this.own = own;
    this.sock = createRtNetlink();
  }

  private chain: Promise<unknown> = Promise.resolve();

  /**
   * One request at a time on the socket: the kernel refuses a second dump while one is running
   * (EBUSY) and the package then fails to pair replies with requests.
   */
  request<T>(fn: (sock: RtNetlinkSocket) => Promise<T>): Promise<T> {
    const call = (): Promise<T> => fn(this.sock);
    const run = this.chain.then(call, call);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Closes the netlink socket. */
  close(): void {
    this.sock.socket.close();
  }

  /**
   * Links from the last dump. Interface indexes of existing devices do not change, so operations
   * resolve names here instead of dumping all links once per operation; a miss refreshes it.
   */
  private linkCache: LinkInfo[] = [];

  /** Drops the name cache (a device was created or deleted). */
  forgetLinks(): void {
    this.linkCache = [];
  }

  /** Finds a link by name, dumping again only when the name is unknown. */
  async link(name: string): Promise<LinkInfo | undefined> {
    const hit = this.linkCache.find((l) => l.name === name);
    if (hit !== undefined) return hit;
    return (await this.links()).find((l) => l.name === name);
  }

  /** Dumps all links (and refreshes the name cache). */
  async links(): Promise<LinkInfo[]> {
    let msgs: Awaited<ReturnType<RtNetlinkSocket['getLinks']>>;
    try {
      msgs = await this.request((sock) => sock.getLinks());
    } catch (e) {
      throw toNetlinkError('dump links', e);
    }
    this.linkCache = msgs.map((m) => {
      let kind: string | undefined;
      let vxlan: LinkInfo['vxlan'];
      if (m.attrs.linkinfo !== undefined) {
        const info = ifla.parseInfo(m.attrs.linkinfo);
        kind = info.kind;
        if (kind === 'vxlan' && info.data !== undefined) {
          const v = ifla.parseVxlan(info.data);
          const local = v.local ?? v.local6;
          vxlan = {
            vni: v.id ?? 0,
            port: v.port === undefined ? 0 : v.port.readUInt16BE(0),
            local: local === undefined ? '' : bufferToAddress(local),
            learning: (v.learning ?? 0) !== 0,
          };
        }
      }
      return {
        index: m.data.index ?? 0,
        name: m.attrs.ifname ?? '',
        mac: m.attrs.address === undefined ? '' : bufferToMac(m.attrs.address),
        up: m.data.flags?.up === true,
        alias: m.attrs.ifalias,
        kind,
        vxlan,
      };
    });
    return this.linkCache;
  }

  /** Index of a link by name; throws `INTERFACE_NOT_FOUND`. */
  async linkIndex(name: string): Promise<number> {
    const l = await this.link(name);
    if (l === undefined) throw new DatapathError('INTERFACE_NOT_FOUND', `interface ${name} not found`);
    return l.index;
  }

  /** All addresses, with IFA_PROTO (which the netlink package's parser drops). */
  async addresses(): Promise<RawAddress[]> {
    let msgs: { type: number; data: Buffer }[];
    try {
      [msgs] = await this.request((sock) =>
        sock.socket.request(rt.MessageType.GETADDR, [Buffer.alloc(rt.__LENGTH_Address)], {
          flags: FlagsGet.DUMP,
        }),
      );
    } catch (e) {
      throw toNetlinkError('dump addresses', e);
    }
    const out: RawAddress[] = [];
    for (const m of msgs) {
      if (m.type !== rt.MessageType.NEWADDR) continue;
      const head = rt.parseAddress(m.data.subarray(0, rt.__LENGTH_Address));
      const attrs = rt.parseAddressAttrs(m.data.subarray(rt.__LENGTH_Address));
      const family = familyFromAf(head.family ?? 0);
      const addr = attrs.local ?? attrs.address;
      if (family === undefined || addr === undefined) continue;
      const valid = attrs.cacheInfo?.ifaValid;
      out.push({
        family,
        index: head.index ?? 0,
        prefixLen: head.prefixlen ?? 0,
        address: bufferToAddress(addr),
        proto: readAttrU8(m.data, rt.__LENGTH_Address, IFA_PROTO) ?? 0,
        validLft: valid === undefined || valid === 0xffffffff ? null : valid,
      });
    }
    return out;
  }

  /** `net.ipv4.conf.<name>.rp_filter` of this namespace, -1 when unreadable. */
  async readRpFilter(name: string): Promise<number> {
    try {
      return Number((await readFile(`/proc/sys/net/ipv4/conf/${name}/rp_filter`, 'utf8')).trim());
    } catch {
      return -1;
    }
  }

  /** The owned tunnel: a VXLAN device carrying our alias, or one with the desired name. */
  async readTunnel(
    links: LinkInfo[],
    addrs: RawAddress[],
    desiredName: string | undefined,
  ): Promise<ObservedTunnel | null> {
    const l =
      links.find((x) => x.kind === 'vxlan' && x.alias === TUNNEL_ALIAS) ??
      links.find((x) => x.kind === 'vxlan' && x.name === desiredName);
    if (l === undefined || l.vxlan === undefined) return null;
    let neigh: Awaited<ReturnType<RtNetlinkSocket['getNeighbors']>>;
    try {
      // An AF_UNSPEC dump returns IP neighbours only; FDB entries need their own AF_BRIDGE dump.
      neigh = [
        ...(await this.request((sock) => sock.getNeighbors())),
        ...(await this.request((sock) => sock.getNeighbors({ family: AF_BRIDGE }))),
      ];
    } catch (e) {
      throw toNetlinkError('dump neighbours', e);
    }
    const fdb: { mac: string; dst: string }[] = [];
    const neighbours: { ip: string; mac: string }[] = [];
    for (const n of neigh) {
      if (n.data.ifindex !== l.index || n.data.state?.permanent !== true) continue;
      if (n.data.family === AF_BRIDGE) {
        if (n.attrs.lladdr !== undefined && n.attrs.dst !== undefined) {
          fdb.push({ mac: bufferToMac(n.attrs.lladdr), dst: bufferToAddress(n.attrs.dst) });
        }
      } else if (n.attrs.dst !== undefined && n.attrs.lladdr !== undefined) {
        neighbours.push({ ip: bufferToAddress(n.attrs.dst), mac: bufferToMac(n.attrs.lladdr) });
      }
    }
    return {
      name: l.name,
      vni: l.vxlan.vni,
      port: l.vxlan.port,
      localUnderlay: l.vxlan.local,
      learning: l.vxlan.learning,
      mac: l.mac,
      up: l.up,
      rpFilter: await this.readRpFilter(l.name),
      addresses: addrs
        .filter((a) => a.index === l.index && !(a.family === 6 && a.address.startsWith('fe80:')))
        .map((a) => `${a.address}/${a.prefixLen}`),
      fdb,
      neighbours,
    };
  }

  /** Owned rules: our protocol at our priority. */
  async readRules(): Promise<ObservedRule[]> {
    let msgs: Awaited<ReturnType<RtNetlinkSocket['getRules']>>;
    try {
      msgs = await this.request((sock) => sock.getRules());
    } catch (e) {
      throw toNetlinkError('dump rules', e);
    }
    const out: ObservedRule[] = [];
    for (const m of msgs) {
      const family = familyFromAf(m.data.family ?? 0);
      if (family === undefined || m.attrs.protocol !== this.own.protocol) continue;
      if (m.attrs.priority !== this.own.rulePriority) continue;
      out.push({
        family,
        priority: m.attrs.priority,
        mark: m.attrs.fwmark ?? 0,
        table: m.attrs.table ?? m.data.table ?? 0,
      });
    }
    return out;
  }

  /** Routes in the owned table range. */
  async readRoutes(links: LinkInfo[]): Promise<ObservedRoute[]> {
    let msgs: Awaited<ReturnType<RtNetlinkSocket['getRoutes']>>;
    try {
      msgs = await this.request((sock) => sock.getRoutes());
    } catch (e) {
      throw toNetlinkError('dump routes', e);
    }
    const [lo, hi] = this.own.tableRange;
    const out: ObservedRoute[] = [];
    for (const m of msgs) {
      const family = familyFromAf(m.data.family ?? 0);
      const table = m.attrs.table ?? m.data.table ?? 0;
      if (family === undefined || table < lo || table > hi) continue;
      const dst =
        (m.data.dstLen ?? 0) === 0 || m.attrs.dst === undefined
          ? 'default'
          : `${bufferToAddress(m.attrs.dst)}/${m.data.dstLen}`;
      out.push({
        family,
        table,
        dst,
        gateway: m.attrs.gateway === undefined ? '' : bufferToAddress(m.attrs.gateway),
        dev: links.find((l) => l.index === m.attrs.oif)?.name ?? '',
      });
    }
    return out;
  }

  /** Splits addresses into owned EIPs (our IFA_PROTO, not on the tunnel) and foreign ones on `egress`. */
  classifyAddresses(
    links: LinkInfo[],
    addrs: RawAddress[],
    egress: string | undefined,
    tunnelName: string | undefined,
  ): { eips: ObservedAddress[]; foreign: ObservedAddress[] } {
    const nameOf = (i: number): string => links.find((l) => l.index === i)?.name ?? `if${i}`;
    const eips: ObservedAddress[] = [];
    const foreign: ObservedAddress[] = [];
    for (const a of addrs) {
      const ifname = nameOf(a.index);
      if (ifname === tunnelName) continue;
      const entry = { address: a.address, interface: ifname, validLft: a.validLft };
      if (a.proto === this.own.protocol) eips.push(entry);
      else if (ifname === egress) foreign.push(entry);
    }
    return { eips, foreign };
  }

  /** Sends RTM_NEWADDR for an EIP with our IFA_PROTO and a finite lifetime (create or renew). */
  async writeEip(address: string, ifname: string, lifetimeSeconds: number, create: boolean): Promise<void> {
    const family = familyOf(address) ?? 4;
    const index = await this.linkIndex(ifname);
    const bytes = addressToBuffer(address);
    const out = new AttrStream();
    const nodad = family === 6 ? { nodad: true as const } : undefined;
    out.emit(
      rt.formatAddress({
        family: afOf(family),
        prefixlen: family === 4 ? 32 : 128,
        index,
        flags: nodad ?? {},
      }),
    );
    out.emit(
      rt.formatAddressAttrs({
        local: bytes,
        address: bytes,
        cacheInfo: { ifaPrefered: lifetimeSeconds, ifaValid: lifetimeSeconds, cstamp: 0, tstamp: 0 },
        ...(nodad !== undefined ? { flags: nodad } : {}),
      }),
    );
    // A replace without IFA_PROTO resets it to 0 (checked on 6.18), so renewals carry it too.
    out.push(IFA_PROTO, Buffer.from([this.own.protocol]));
    try {
      await this.request((sock) =>
        sock.socket.request(rt.MessageType.NEWADDR, out.bufs, {
          flags: create ? FlagsNew.CREATE | FlagsNew.EXCL : FlagsNew.REPLACE,
        }),
      );
    } catch (e) {
      throw toNetlinkError(`${create ? 'add' : 'renew'} address ${address} dev ${ifname}`, e);
    }
  }
}

/** Finds a u8 attribute of `type` in a netlink message body after a fixed header of `offset` bytes. */
export function readAttrU8(data: Buffer, offset: number, type: number): number | undefined {
  let off = offset;
  while (off + 4 <= data.length) {
    const len = data.readUInt16LE(off);
    const t = data.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4) return undefined;
    if (t === type && len >= 5) return data[off + 4];
    off += (len + 3) & ~3;
  }
  return undefined;
}
