import { createHash } from 'node:crypto';
import {
  canonicalIpOrThrow,
  cidrRange,
  familyOf,
  formatIp,
  formatRange,
  type IpFamily,
  type IpRange,
  maxAddress,
  mergeRanges,
  parseIpOrCidrOrThrow,
  parseIpOrThrow,
} from '@egressgateway/netaddr';
import { type BoxEntry, firstWins } from './boxes.js';
import { DEFAULT_OWNERSHIP, type NodeDatapathState, type Ownership } from './model.js';

/** Names of the sets and maps of the owned table; their elements are the table's data. */
export const NFT_SETS = [
  'bypass4',
  'bypass6',
  'steer4',
  'steer6',
  'snat4',
  'snat6',
  'eip4',
  'eip6',
  'peermark',
] as const;

/** One of {@link NFT_SETS}. */
export type NftSetName = (typeof NFT_SETS)[number];

/**
 * The owned nftables table reduced to what the planner compares: a hash of the rules and set
 * declarations (`structure`), and the canonical text of every set element (`a-b . c-d : value`).
 */
export interface NftContent {
  /** 16 hex digits; the table is rebuilt when it changes. */
  readonly structure: string;
  /** Canonical elements per set, sorted. */
  readonly sets: Readonly<Record<NftSetName, readonly string[]>>;
}

const hex8 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function quote(name: string): string {
  return `"${name.replace(/["\\]/g, '')}"`;
}

/** The table definition without elements; its hash is the structure version. */
export function renderStructure(egress: string, tunnel: string, own: Ownership): string {
  const mask = '0xff000000';
  const prefix = hex8(own.markPrefix);
  const T = quote(tunnel);
  const E = quote(egress);
  return `  set bypass4 { type ipv4_addr; flags interval; }
  set bypass6 { type ipv6_addr; flags interval; }
  map steer4 { type ipv4_addr . ipv4_addr : mark; flags interval; }
  map steer6 { type ipv6_addr . ipv6_addr : mark; flags interval; }
  map snat4 { type ipv4_addr . ipv4_addr : ipv4_addr; flags interval; }
  map snat6 { type ipv6_addr . ipv6_addr : ipv6_addr; flags interval; }
  set eip4 { type ipv4_addr; }
  set eip6 { type ipv6_addr; }
  map peermark { type ether_addr : mark; }
  set gen { type mark; }
  set live4 { type ipv4_addr; flags timeout; }
  set live6 { type ipv6_addr; flags timeout; }
  chain prerouting {
    type filter hook prerouting priority mangle; policy accept;
    iifname ${T} ct state new ct mark set ether saddr map @peermark
    ct direction reply ct mark and ${mask} == ${prefix} meta mark set ct mark return
    iifname ${T} return
    ip daddr @bypass4 return
    ip6 daddr @bypass6 return
    meta mark set ip saddr . ip daddr map @steer4
    meta mark set ip6 saddr . ip6 daddr map @steer6
  }
  chain forward_mangle {
    type filter hook forward priority mangle; policy accept;
    oifname ${T} meta mark and ${mask} == ${prefix} meta mark set ${hex8(own.rewriteMark)}
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname ${T} ct state invalid drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname ${E} snat ip to ip saddr . ip daddr map @snat4
    oifname ${E} snat ip6 to ip6 saddr . ip6 daddr map @snat6
    oifname ${E} ct mark and ${mask} == ${prefix} drop
  }
  chain input {
    type filter hook input priority filter; policy accept;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ip daddr @eip4 ct state established,related accept
    ip daddr @eip4 drop
    ip6 daddr @eip6 ct state established,related accept
    ip6 daddr @eip6 drop
  }
  chain fence {
    type filter hook output priority filter; policy accept;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 saddr @eip6 ip6 saddr != @live6 drop
  }
`;
}

/**
 * An EIP's lease: how many more milliseconds the node may claim the EIP on the LAN. The binder keeps
 * one per held EIP in timeout sets (`live4`, `live6`) of the owned tables; when the timeout runs
 * out, the kernel drops every ARP packet (replies and requests) and every IPv6 neighbour
 * solicitation and advertisement the node would send from that EIP, so no other host learns the
 * node's MAC for it any more. Nothing has to run for that to happen: it is the millisecond-precise
 * dead-man switch that kernel address lifetimes (whole seconds) cannot be. Forwarding and SNAT are
 * left alone (as with self-fencing, flows keep going through the node until the move), which keeps
 * an agent crash invisible on the wire.
 */
export interface EipLease {
  readonly address: string;
  readonly ms: number;
}

const leaseTimeout = (ms: number): string => `timeout ${Math.max(1, Math.ceil(ms))}ms`;

/**
 * Script lines replacing the owned `arp` table: ARP is not seen by `inet` tables, so the ARP half
 * of the lease fence lives in a table of its own with a copy of the IPv4 EIP set. It is rebuilt
 * (one transaction, with the live leases) whenever the EIP set changes.
 */
export function renderArpTable(
  eip4: readonly string[],
  leases: readonly EipLease[],
  own: Ownership = DEFAULT_OWNERSHIP,
): string[] {
  const t = `arp ${own.nftTable}`;
  // One command per line (no blocks), so a long-lived `nft -i` can take it as one line.
  const lines = [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t}`,
    `add set ${t} eip4 { type ipv4_addr; }`,
    `add set ${t} live4 { type ipv4_addr; flags timeout; }`,
    `add chain ${t} output { type filter hook output priority filter; policy accept; }`,
    `add rule ${t} output arp saddr ip @eip4 arp saddr ip != @live4 drop`,
  ];
  if (eip4.length > 0) lines.push(`add element ${t} eip4 { ${eip4.join(', ')} }`);
  const live = leases.filter((l) => familyOf(l.address) === 4 && l.ms > 0);
  if (live.length > 0)
    lines.push(
      `add element ${t} live4 { ${live.map((l) => `${canonicalIpOrThrow(l.address)} ${leaseTimeout(l.ms)}`).join(', ')} }`,
    );
  return lines;
}

/**
 * Script lines that set each lease's timeout in both owned tables. With `refresh`, an existing
 * element is replaced (add, delete, add in one transaction: a plain add does not shorten or
 * extend an existing element's timeout on every kernel).
 */
export function renderLeaseLines(
  leases: readonly EipLease[],
  own: Ownership = DEFAULT_OWNERSHIP,
  refresh = true,
): string[] {
  const lines: string[] = [];
  for (const l of leases) {
    if (l.ms <= 0) continue;
    const address = canonicalIpOrThrow(l.address);
    const family = familyOf(address);
    const targets = [`inet ${own.nftTable} live${family}`];
    if (family === 4) targets.push(`arp ${own.nftTable} live4`);
    for (const target of targets) {
      const el = `{ ${address} ${leaseTimeout(l.ms)} }`;
      if (refresh) lines.push(`add element ${target} ${el}`, `delete element ${target} { ${address} }`);
      lines.push(`add element ${target} ${el}`);
    }
  }
  return lines;
}

function structureHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function rangesOf(cidrs: readonly string[] | 'all', family: IpFamily): IpRange[] {
  if (cidrs === 'all') return [{ start: 0n, end: maxAddress(family) }];
  return mergeRanges(
    cidrs.filter((c) => familyOf(c) === family).map((c) => cidrRange(parseIpOrCidrOrThrow(c))),
  );
}

function boxKey(family: IpFamily, e: BoxEntry<unknown>): string {
  return `${formatRange(family, e.box.src)} . ${formatRange(family, e.box.dst)}`;
}

/** One empty element list per set of {@link NFT_SETS}. */
function emptySets(): Record<NftSetName, string[]> {
  return Object.fromEntries(NFT_SETS.map((n) => [n, []])) as unknown as Record<NftSetName, string[]>;
}

/** True when the state asks for nothing at all: the owned table is then deleted, not emptied. */
export function isEmptyState(state: NodeDatapathState): boolean {
  return (
    state.tunnel === undefined &&
    state.markRoutes.length === 0 &&
    state.eips.length === 0 &&
    state.steering.length === 0 &&
    state.snat.length === 0
  );
}

/**
 * Remembers the last steering and SNAT element lists, so that an apply that changes one EIP does
 * not redo the overlap resolution of 1,000 unchanged steering rules.
 */
export interface NftContentMemo {
  steerKey?: string;
  steer?: readonly [string[], string[]];
  snatKey?: string;
  snat?: readonly [string[], string[]];
}

function steerSets(state: NodeDatapathState): [string[], string[]] {
  const out: [string[], string[]] = [[], []];
  for (const family of [4, 6] as const) {
    const steer: BoxEntry<number>[] = [];
    for (const rule of state.steering) {
      const src = rangesOf(rule.sources, family);
      const dst = rangesOf(rule.destinations, family);
      for (const s of src) for (const d of dst) steer.push({ box: { src: s, dst: d }, value: rule.mark });
    }
    out[family === 4 ? 0 : 1] = firstWins(steer).map((e) => `${boxKey(family, e)} : ${hex8(e.value)}`);
  }
  return out;
}

function snatSets(state: NodeDatapathState): [string[], string[]] {
  const out: [string[], string[]] = [[], []];
  for (const family of [4, 6] as const) {
    const snat: BoxEntry<string>[] = [];
    for (const rule of state.snat) {
      if (familyOf(rule.eip) !== family) continue;
      const eip = canonicalIpOrThrow(rule.eip);
      for (const s of rangesOf(rule.sources, family)) {
        for (const d of rangesOf(rule.destinations, family))
          snat.push({ box: { src: s, dst: d }, value: eip });
      }
    }
    out[family === 4 ? 0 : 1] = firstWins(snat).map((e) => `${boxKey(family, e)} : ${e.value}`);
  }
  return out;
}

/**
 * Desired content of the owned table for `state`, or `null` when the state is empty. Overlapping
 * steering (or SNAT) rules are resolved first-wins into disjoint elements. The input-protection
 * sets hold the held EIPs and every EIP of a SNAT rule, so a gateway prepared in advance binds an
 * EIP on failover without touching nftables.
 */
export function desiredNftContent(
  state: NodeDatapathState,
  own: Ownership = DEFAULT_OWNERSHIP,
  memo?: NftContentMemo,
): NftContent | null {
  if (isEmptyState(state)) return null;
  const tunnelName = state.tunnel?.name ?? 'egress.vxlan';
  const structure = structureHash(renderStructure(state.egressInterface, tunnelName, own));
  const sets = emptySets();
  const steerKey = memo === undefined ? '' : JSON.stringify(state.steering);
  const steer = memo?.steer !== undefined && memo.steerKey === steerKey ? memo.steer : steerSets(state);
  const snatKey = memo === undefined ? '' : JSON.stringify(state.snat);
  const snat = memo?.snat !== undefined && memo.snatKey === snatKey ? memo.snat : snatSets(state);
  if (memo !== undefined) {
    memo.steerKey = steerKey;
    memo.steer = steer;
    memo.snatKey = snatKey;
    memo.snat = snat;
  }
  for (const family of [4, 6] as const) {
    const i = family === 4 ? 0 : 1;
    sets[`bypass${family}`] = rangesOf(state.bypassDestinations ?? [], family).map((r) =>
      formatRange(family, r),
    );
    sets[`steer${family}`] = [...steer[i]];
    sets[`snat${family}`] = [...snat[i]];
    sets[`eip${family}`] = [...state.eips, ...state.snat.map((r) => r.eip)]
      .filter((e) => familyOf(e) === family)
      .map(canonicalIpOrThrow);
  }
  const peers = state.tunnel?.peers ?? [];
  for (const route of state.markRoutes) {
    const peer = peers.find((p) => p.nodeName === route.nodeName);
    if (peer !== undefined) sets.peermark.push(`${peer.mac.toLowerCase()} : ${hex8(route.mark)}`);
  }
  for (const name of NFT_SETS) sets[name] = [...new Set(sets[name])].sort();
  return { structure, sets };
}

/** Element key without its mapped value (what `delete element` takes). */
export function elementKey(element: string): string {
  const i = element.indexOf(' : ');
  return i < 0 ? element : element.slice(0, i);
}

/**
 * Full script that atomically replaces the owned tables (`inet` and `arp`) with `content`; the
 * `leases` still running are written back in the same transaction, so a rebuild never makes a
 * held EIP fall silent.
 */
export function renderFullScript(
  content: NftContent,
  egress: string,
  tunnel: string,
  own: Ownership = DEFAULT_OWNERSHIP,
  generation?: number,
  leases: readonly EipLease[] = [],
): string {
  const t = `inet ${own.nftTable}`;
  const lines = [
    `table ${t}`,
    `delete table ${t}`,
    `table ${t} {`,
    `  chain v_${content.structure} {\n  }`,
    renderStructure(egress, tunnel, own),
    '}',
  ];
  for (const name of NFT_SETS) {
    const els = content.sets[name];
    if (els.length > 0) lines.push(`add element ${t} ${name} { ${els.join(', ')} }`);
  }
  if (generation !== undefined) lines.push(`add element ${t} gen { ${hex8(generation)} }`);
  lines.push(...renderArpTable(content.sets.eip4, leases, own));
  const inetLeases = renderLeaseLines(leases, own, false).filter((l) => l.includes(` ${t} `));
  lines.push(...inetLeases);
  return `${lines.join('\n')}\n`;
}

/** Script deleting both owned tables (nothing else). */
export function renderDeleteScript(own: Ownership = DEFAULT_OWNERSHIP): string {
  const t = own.nftTable;
  return `table inet ${t}\ndelete table inet ${t}\ntable arp ${t}\ndelete table arp ${t}\n`;
}

/**
 * A transaction that changes nothing and fails unless the table still holds generation token
 * `generation` (deleting an element that is not there fails the whole transaction): a check of the
 * binder's cached content that needs no listing.
 */
export function renderGenerationCheck(generation: number, own: Ownership = DEFAULT_OWNERSHIP): string {
  const el = `inet ${own.nftTable} gen { ${hex8(generation)} }`;
  return `delete element ${el}\nadd element ${el}\n`;
}

/** Element changes for one set. */
export interface NftSetDelta {
  readonly set: NftSetName;
  /** Canonical elements to remove (values included; only the keys are sent). */
  readonly remove: readonly string[];
  /** Canonical elements to add. */
  readonly add: readonly string[];
}

/**
 * Script applying `deltas` to the existing table in one transaction (removals first). With
 * `generation`, the same transaction replaces the table's generation token (see the binder).
 */
export function renderDeltaScript(
  deltas: readonly NftSetDelta[],
  own: Ownership = DEFAULT_OWNERSHIP,
  generation?: number,
): string {
  const t = `inet ${own.nftTable}`;
  const lines: string[] =
    generation === undefined ? [] : [`flush set ${t} gen`, `add element ${t} gen { ${hex8(generation)} }`];
  for (const d of deltas) {
    if (d.remove.length > 0)
      lines.push(`delete element ${t} ${d.set} { ${d.remove.map(elementKey).join(', ')} }`);
  }
  for (const d of deltas) {
    if (d.add.length > 0) lines.push(`add element ${t} ${d.set} { ${d.add.join(', ')} }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Set-by-set differences between two contents of the same structure. */
export function diffNftSets(observed: NftContent, desired: NftContent): NftSetDelta[] {
  const out: NftSetDelta[] = [];
  for (const set of NFT_SETS) {
    const have = new Set(observed.sets[set]);
    const want = new Set(desired.sets[set]);
    const remove = observed.sets[set].filter((e) => !want.has(e));
    const add = desired.sets[set].filter((e) => !have.has(e));
    if (remove.length > 0 || add.length > 0) out.push({ set, remove, add });
  }
  return out;
}

/** The generation token in `nft -j list table|set` output, if any. */
export function parseGeneration(json: string): number | undefined {
  const doc = JSON.parse(json) as { nftables?: Record<string, Json>[] };
  for (const item of doc.nftables ?? []) {
    const set = item.set as { name?: string; elem?: Json[] } | undefined;
    if (set?.name === 'gen') {
      const v = set.elem?.[0];
      return typeof v === 'number' ? v : undefined;
    }
  }
  return undefined;
}

// ---- parsing `nft -j list table` ----

type Json = unknown;

function rangeText(x: Json): { family: IpFamily; text: string } {
  if (typeof x === 'string') {
    const { family, value } = parseIpOrThrow(x);
    return { family, text: formatIp(family, value) };
  }
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, Json>;
    if (o.prefix !== undefined) {
      const p = o.prefix as { addr: string; len: number };
      const c = parseIpOrCidrOrThrow(`${p.addr}/${p.len}`);
      return { family: c.family, text: formatRange(c.family, cidrRange(c)) };
    }
    if (Array.isArray(o.range)) {
      const a = parseIpOrThrow(String(o.range[0]));
      const b = parseIpOrThrow(String(o.range[1]));
      return { family: a.family, text: formatRange(a.family, { start: a.value, end: b.value }) };
    }
    if (o.elem !== undefined) return rangeText((o.elem as { val: Json }).val);
  }
  throw new TypeError(`unexpected nft element ${JSON.stringify(x)}`);
}

function keyText(x: Json): string {
  if (typeof x === 'string' && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(x)) return x.toLowerCase();
  if (x !== null && typeof x === 'object' && Array.isArray((x as { concat?: Json[] }).concat)) {
    return (x as { concat: Json[] }).concat.map((p) => rangeText(p).text).join(' . ');
  }
  if (x !== null && typeof x === 'object' && (x as { elem?: Json }).elem !== undefined) {
    return keyText((x as { elem: { val: Json } }).elem.val);
  }
  return rangeText(x).text;
}

function valueText(x: Json): string {
  if (typeof x === 'number') return hex8(x);
  if (typeof x === 'string') return /^\d+$/.test(x) ? hex8(Number(x)) : canonicalIpOrThrow(x);
  throw new TypeError(`unexpected nft map value ${JSON.stringify(x)}`);
}

/**
 * Reads the output of `nft -j list table inet <name>` back into {@link NftContent}. Returns
 * `null` when the table has no structure marker (not ours, or from an unknown version).
 */
export function parseNftJson(json: string): NftContent | null {
  const doc = JSON.parse(json) as { nftables?: Record<string, Json>[] };
  let structure: string | undefined;
  const sets = emptySets();
  for (const item of doc.nftables ?? []) {
    const chain = item.chain as { name?: string } | undefined;
    if (chain?.name?.startsWith('v_') === true) structure = chain.name.slice(2);
    const set = (item.set ?? item.map) as { name: string; elem?: Json[] } | undefined;
    if (set === undefined || !(NFT_SETS as readonly string[]).includes(set.name)) continue;
    const name = set.name as NftSetName;
    for (const el of set.elem ?? []) {
      if (Array.isArray(el)) sets[name].push(`${keyText(el[0])} : ${valueText(el[1])}`);
      else sets[name].push(keyText(el));
    }
  }
  if (structure === undefined) return null;
  for (const name of NFT_SETS) sets[name].sort();
  return { structure, sets };
}
