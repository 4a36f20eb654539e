import { canonicalIpOrThrow, familyOf, parseIp, parseIpOrCidr } from '@egressgateway/netaddr';
import { InvalidStateError } from './errors.js';
import { isMac } from './netlink-bytes.js';

/** One remote node reachable through the tunnel. */
export interface TunnelPeer {
  /** Kubernetes node name (for logs and reports). */
  readonly nodeName: string;
  /** The peer's underlay (LAN) address: outer destination of VXLAN packets. */
  readonly underlay: string;
  /** The peer's IPv4 address inside the tunnel (no prefix length). */
  readonly ipv4?: string;
  /** The peer's IPv6 address inside the tunnel (no prefix length). */
  readonly ipv6?: string;
  /** MAC address of the peer's tunnel device. */
  readonly mac: string;
}

/** The node's VXLAN tunnel device and its static peers. */
export interface TunnelState {
  /** Device name, `egress.vxlan` upstream. */
  readonly name: string;
  /** VXLAN network identifier (upstream: 100). */
  readonly vni: number;
  /** UDP destination port (upstream: 7789). */
  readonly port: number;
  /** This node's underlay address, the outer source of VXLAN packets. */
  readonly localUnderlay: string;
  /** This node's IPv4 tunnel address as CIDR, e.g. `198.19.255.21/24`. */
  readonly ipv4?: string;
  /** This node's IPv6 tunnel address as CIDR, e.g. `fd00:19:ff::21/64`. */
  readonly ipv6?: string;
  /** MAC address of this node's tunnel device. */
  readonly mac: string;
  /** Every other node of the tunnel mesh. */
  readonly peers: readonly TunnelPeer[];
}

/**
 * Traffic carrying `mark` is routed through the tunnel to `nodeName` (routing table `table`, one
 * ip rule per family). Workers list every gateway node; gateway nodes also list the workers, so
 * that replies of SNATed flows return through the tunnel to the worker they came from.
 */
export interface MarkRoute {
  /** Node the marked traffic goes to (must be a tunnel peer). */
  readonly nodeName: string;
  /** fwmark of that node, e.g. `0x26d9b723` (top byte = the binder's mark prefix). */
  readonly mark: number;
  /** Routing table id, inside the binder's owned table range. */
  readonly table: number;
}

/**
 * Steering: traffic from `sources` to `destinations` gets `mark` (of the gateway node serving it).
 * Rules are ordered: where two rules overlap, the earlier one wins.
 */
export interface SteeringRule {
  /** Stable identifier (policy name), for reports. */
  readonly id: string;
  /** Pod addresses or subnets (IPv4 and/or IPv6). */
  readonly sources: readonly string[];
  /** Destination subnets, or `'all'`. */
  readonly destinations: readonly string[] | 'all';
  /** Mark of the gateway node. */
  readonly mark: number;
}

/**
 * SNAT on a gateway node: traffic from `sources` to `destinations` leaving through the egress
 * interface gets source address `eip`. Ordered like steering rules (earlier wins on overlap).
 */
export interface SnatRule {
  /** Stable identifier (policy name), for reports. */
  readonly id: string;
  /** Pod addresses or subnets of the rule's family. */
  readonly sources: readonly string[];
  /** Destination subnets, or `'all'`. */
  readonly destinations: readonly string[] | 'all';
  /** The egress IP (its family selects the rule's family). */
  readonly eip: string;
}

/**
 * Everything one node's datapath should be: plain, serialisable data. The agent computes it; the
 * binder makes the kernel match it.
 *
 * @example
 * ```ts
 * const state: NodeDatapathState = {
 *   egressInterface: 'eth0',
 *   tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, localUnderlay: '198.18.0.21',
 *     ipv4: '198.19.255.21/24', mac: '02:00:00:ff:00:21',
 *     peers: [{ nodeName: 'gw1', underlay: '198.18.0.11', ipv4: '198.19.255.11', mac: '02:00:00:ff:00:11' }] },
 *   markRoutes: [{ nodeName: 'gw1', mark: 0x26000011, table: 1011 }],
 *   eips: [],
 *   steering: [{ id: 'p1', sources: ['198.19.1.2'], destinations: ['198.18.0.100/32'], mark: 0x26000011 }],
 *   snat: [],
 * };
 * ```
 */
export interface NodeDatapathState {
  /** The interface that carries the underlay and the EIPs (the default-route interface upstream). */
  readonly egressInterface: string;
  /** The VXLAN tunnel; absent means the node has none (and any owned one is removed). */
  readonly tunnel?: TunnelState;
  /** Mark -> table -> tunnel peer routes. */
  readonly markRoutes: readonly MarkRoute[];
  /** EIPs this node holds, bound as /32 or /128 on the egress interface. */
  readonly eips: readonly string[];
  /** Steering rules (every node). */
  readonly steering: readonly SteeringRule[];
  /** SNAT rules (gateway nodes). */
  readonly snat: readonly SnatRule[];
  /** Destinations that are never steered (cluster CIDRs, service CIDRs). */
  readonly bypassDestinations?: readonly string[];
}

/** What the binder owns and how it recognises it. Defaults in {@link DEFAULT_OWNERSHIP}. */
export interface Ownership {
  /** nftables table name (family inet). */
  readonly nftTable: string;
  /** Owned routing tables: [min, max]. */
  readonly tableRange: readonly [number, number];
  /** Priority of the owned ip rules. */
  readonly rulePriority: number;
  /** Value of FRA_PROTOCOL / rtm_protocol / IFA_PROTO on owned rules, routes and addresses. */
  readonly protocol: number;
  /** Top byte of every gateway mark (`0x26000000`). */
  readonly markPrefix: number;
  /** Mark written after routing so the VXLAN driver routes its outer packet normally. */
  readonly rewriteMark: number;
}

/** Defaults: table `inet egressgateway`, tables 1000-1999, priority 99, protocol 0xeb, marks 0x26xxxxxx. */
export const DEFAULT_OWNERSHIP: Ownership = {
  nftTable: 'egressgateway',
  tableRange: [1000, 1999],
  rulePriority: 99,
  protocol: 0xeb,
  markPrefix: 0x26000000,
  rewriteMark: 0x12000000,
};

function check(cond: boolean, path: string, message: string): void {
  if (!cond) throw new InvalidStateError(path, message);
}

function checkCidr(value: string, path: string): void {
  const r = parseIpOrCidr(value);
  if (!r.ok) throw new InvalidStateError(path, r.error);
}

function checkAddr(value: string, path: string): void {
  const r = parseIp(value);
  if (!r.ok) throw new InvalidStateError(path, r.error);
}

function checkMark(mark: number, path: string, own: Ownership): void {
  check(
    Number.isInteger(mark) && mark > 0 && mark <= 0xffffffff && (mark & 0xff000000) >>> 0 === own.markPrefix,
    path,
    `mark must be a u32 whose top byte is 0x${(own.markPrefix >>> 24).toString(16)} (got ${mark})`,
  );
}

/**
 * Throws {@link InvalidStateError} with the field path when `state` is malformed: bad
 * addresses, marks outside the prefix, tables outside the owned range, unknown route peers,
 * duplicate tables or EIPs.
 */
export function validateState(state: NodeDatapathState, own: Ownership = DEFAULT_OWNERSHIP): void {
  check(/^[^\s/]{1,15}$/.test(state.egressInterface), 'egressInterface', 'must be an interface name');
  const t = state.tunnel;
  if (t !== undefined) {
    check(/^[^\s/]{1,15}$/.test(t.name), 'tunnel.name', 'must be an interface name (max 15 chars)');
    check(t.name !== state.egressInterface, 'tunnel.name', 'must differ from egressInterface');
    check(Number.isInteger(t.vni) && t.vni > 0 && t.vni < 1 << 24, 'tunnel.vni', 'must be 1..16777215');
    check(Number.isInteger(t.port) && t.port > 0 && t.port < 65536, 'tunnel.port', 'must be 1..65535');
    checkAddr(t.localUnderlay, 'tunnel.localUnderlay');
    check(isMac(t.mac), 'tunnel.mac', 'must be a MAC address');
    if (t.ipv4 !== undefined) {
      checkCidr(t.ipv4, 'tunnel.ipv4');
      check(familyOf(t.ipv4) === 4 && t.ipv4.includes('/'), 'tunnel.ipv4', 'must be an IPv4 CIDR');
    }
    if (t.ipv6 !== undefined) {
      checkCidr(t.ipv6, 'tunnel.ipv6');
      check(familyOf(t.ipv6) === 6 && t.ipv6.includes('/'), 'tunnel.ipv6', 'must be an IPv6 CIDR');
    }
    const names = new Set<string>();
    t.peers.forEach((p, i) => {
      const path = `tunnel.peers[${i}]`;
      check(!names.has(p.nodeName), `${path}.nodeName`, 'duplicate peer');
      names.add(p.nodeName);
      checkAddr(p.underlay, `${path}.underlay`);
      check(isMac(p.mac), `${path}.mac`, 'must be a MAC address');
      if (p.ipv4 !== undefined) {
        checkAddr(p.ipv4, `${path}.ipv4`);
        check(familyOf(p.ipv4) === 4, `${path}.ipv4`, 'must be IPv4');
      }
      if (p.ipv6 !== undefined) {
        checkAddr(p.ipv6, `${path}.ipv6`);
        check(familyOf(p.ipv6) === 6, `${path}.ipv6`, 'must be IPv6');
      }
    });
  }
  const tables = new Set<number>();
  const marks = new Set<number>();
  state.markRoutes.forEach((r, i) => {
    const path = `markRoutes[${i}]`;
    checkMark(r.mark, `${path}.mark`, own);
    check(
      Number.isInteger(r.table) && r.table >= own.tableRange[0] && r.table <= own.tableRange[1],
      `${path}.table`,
      `must be inside the owned table range ${own.tableRange[0]}-${own.tableRange[1]}`,
    );
    check(!tables.has(r.table), `${path}.table`, 'duplicate table');
    check(!marks.has(r.mark), `${path}.mark`, 'duplicate mark');
    tables.add(r.table);
    marks.add(r.mark);
    check(
      t?.peers.some((p) => p.nodeName === r.nodeName) === true,
      `${path}.nodeName`,
      `"${r.nodeName}" is not a tunnel peer`,
    );
  });
  const eips = new Set<string>();
  state.eips.forEach((e, i) => {
    checkAddr(e, `eips[${i}]`);
    check(!eips.has(canonicalIpOrThrow(e)), `eips[${i}]`, 'duplicate EIP');
    eips.add(canonicalIpOrThrow(e));
  });
  state.steering.forEach((r, i) => {
    const path = `steering[${i}]`;
    checkMark(r.mark, `${path}.mark`, own);
    for (const [j, s] of r.sources.entries()) checkCidr(s, `${path}.sources[${j}]`);
    if (r.destinations !== 'all') {
      for (const [j, d] of r.destinations.entries()) checkCidr(d, `${path}.destinations[${j}]`);
    }
  });
  state.snat.forEach((r, i) => {
    const path = `snat[${i}]`;
    checkAddr(r.eip, `${path}.eip`);
    const fam = familyOf(r.eip);
    r.sources.forEach((s, j) => {
      checkCidr(s, `${path}.sources[${j}]`);
      check(familyOf(s) === fam, `${path}.sources[${j}]`, 'must have the family of the EIP');
    });
    if (r.destinations !== 'all') {
      r.destinations.forEach((d, j) => {
        checkCidr(d, `${path}.destinations[${j}]`);
        check(familyOf(d) === fam, `${path}.destinations[${j}]`, 'must have the family of the EIP');
      });
    }
  });
  for (const [i, d] of (state.bypassDestinations ?? []).entries()) checkCidr(d, `bypassDestinations[${i}]`);
}
