import { canonicalIpOrThrow, familyOf, type IpFamily } from '@egressgateway/netaddr';
import { DEFAULT_OWNERSHIP, type NodeDatapathState, type Ownership } from './model.js';
import { desiredNftContent, diffNftSets, type NftContentMemo } from './nft-content.js';
import type { ObservedRoute, ObservedRule, ObservedState } from './observed.js';
import type { DatapathOperation } from './operations.js';

/** Loose reverse-path filtering on the tunnel: replies arrive there from addresses routed elsewhere. */
export const TUNNEL_RP_FILTER = 2;

/**
 * True unless the tunnel's effective reverse-path filter is known not to be strict. The kernel
 * filters with the larger of `conf.all` and the device's value; loose (2) or off (0) both let
 * pod packets whose source is routed elsewhere in. Writing only when needed is what lets the
 * agent run without a writable /proc/sys (containers mount it read-only).
 */
function strictRpFilter(observed: ObservedState, device: number | undefined): boolean {
  if (observed.rpFilterAll === undefined || device === undefined || device < 0) return true;
  return Math.max(observed.rpFilterAll, device) === 1;
}

function canonicalCidr(cidr: string): string {
  const [addr = '', len] = cidr.split('/');
  return `${canonicalIpOrThrow(addr)}/${len ?? (familyOf(addr) === 4 ? 32 : 128)}`;
}

/** Canonical CIDRs of the tunnel addresses the state asks for. */
export function desiredTunnelAddresses(state: NodeDatapathState): string[] {
  const t = state.tunnel;
  if (t === undefined) return [];
  return [t.ipv4, t.ipv6].filter((x): x is string => x !== undefined).map(canonicalCidr);
}

/** Desired owned rules and routes (one per mark route and family that both ends have). */
export function desiredRulesAndRoutes(
  state: NodeDatapathState,
  own: Ownership,
): { rules: ObservedRule[]; routes: ObservedRoute[] } {
  const rules: ObservedRule[] = [];
  const routes: ObservedRoute[] = [];
  const t = state.tunnel;
  if (t === undefined) return { rules, routes };
  for (const r of state.markRoutes) {
    const peer = t.peers.find((p) => p.nodeName === r.nodeName);
    if (peer === undefined) continue;
    for (const family of [4, 6] as const) {
      const local = family === 4 ? t.ipv4 : t.ipv6;
      const gw = family === 4 ? peer.ipv4 : peer.ipv6;
      if (local === undefined || gw === undefined) continue;
      rules.push({ family, priority: own.rulePriority, mark: r.mark, table: r.table });
      routes.push({ family, table: r.table, dst: 'default', gateway: canonicalIpOrThrow(gw), dev: t.name });
    }
  }
  return { rules, routes };
}

const ruleKey = (r: ObservedRule): string => `${r.family}|${r.priority}|${r.mark}|${r.table}`;
const routeKey = (r: { family: IpFamily; table: number; dst: string }): string =>
  `${r.family}|${r.table}|${r.dst}`;

/**
 * Pure planner: the operations that turn `observed` into `desired`, in a safe order (new paths
 * are built before old ones are torn down, EIPs are bound before stale ones are released).
 *
 * Guarantees (property-tested): executing the plan against `observed` yields a state for which
 * the plan is empty; only objects in `observed` (which holds owned objects only) are removed; a
 * desired EIP that exists as a foreign address is left alone.
 *
 * @example
 * ```ts
 * const ops = planDatapath(await binder.observe(), desired);
 * for (const o of ops) console.log(describeOperation(o));
 * ```
 */
export function planDatapath(
  observed: ObservedState,
  desired: NodeDatapathState,
  own: Ownership = DEFAULT_OWNERSHIP,
  memo?: NftContentMemo,
): DatapathOperation[] {
  const ops: DatapathOperation[] = [];
  const late: DatapathOperation[] = [];
  const t = desired.tunnel;
  let obsTunnel = observed.tunnel;
  let obsRoutes = observed.routes;

  // --- tunnel device ---
  if (obsTunnel !== null) {
    const incompatible =
      t === undefined ||
      obsTunnel.name !== t.name ||
      obsTunnel.vni !== t.vni ||
      obsTunnel.port !== t.port ||
      obsTunnel.localUnderlay !== canonicalIpOrThrow(t.localUnderlay) ||
      obsTunnel.learning;
    if (incompatible) {
      const name = obsTunnel.name;
      // Deleting the device also deletes its addresses, FDB, neighbours and routes through it.
      if (t === undefined) late.push({ op: 'tunnel-delete', name });
      else ops.push({ op: 'tunnel-delete', name });
      obsRoutes = obsRoutes.filter((r) => r.dev !== name);
      if (t !== undefined) obsTunnel = null;
    }
  }
  if (t !== undefined) {
    const mac = t.mac.toLowerCase();
    if (obsTunnel === null) {
      ops.push({
        op: 'tunnel-create',
        name: t.name,
        vni: t.vni,
        port: t.port,
        localUnderlay: canonicalIpOrThrow(t.localUnderlay),
        underlayInterface: desired.egressInterface,
        mac,
      });
      ops.push({ op: 'tunnel-set', name: t.name, mac });
      if (strictRpFilter(observed, observed.rpFilterDefault))
        ops.push({ op: 'tunnel-rp-filter', name: t.name, value: TUNNEL_RP_FILTER });
    } else {
      if (obsTunnel.mac !== mac || !obsTunnel.up) ops.push({ op: 'tunnel-set', name: t.name, mac });
      if (obsTunnel.rpFilter !== TUNNEL_RP_FILTER && strictRpFilter(observed, obsTunnel.rpFilter)) {
        ops.push({ op: 'tunnel-rp-filter', name: t.name, value: TUNNEL_RP_FILTER });
      }
    }
    const have = obsTunnel?.addresses ?? [];
    const want = desiredTunnelAddresses(desired);
    for (const a of want)
      if (!have.includes(a)) ops.push({ op: 'tunnel-address-add', name: t.name, cidr: a });
    for (const a of have)
      if (!want.includes(a)) late.push({ op: 'tunnel-address-del', name: t.name, cidr: a });

    const wantFdb = t.peers.map((p) => ({ mac: p.mac.toLowerCase(), dst: canonicalIpOrThrow(p.underlay) }));
    const haveFdb = obsTunnel?.fdb ?? [];
    for (const f of wantFdb) {
      if (!haveFdb.some((h) => h.mac === f.mac && h.dst === f.dst))
        ops.push({ op: 'fdb-add', name: t.name, ...f });
    }
    for (const f of haveFdb) {
      if (!wantFdb.some((w) => w.mac === f.mac && w.dst === f.dst))
        late.push({ op: 'fdb-del', name: t.name, ...f });
    }
    const wantNeigh = t.peers.flatMap((p) =>
      [p.ipv4, p.ipv6]
        .filter((x): x is string => x !== undefined)
        .map((ip) => ({ ip: canonicalIpOrThrow(ip), mac: p.mac.toLowerCase() })),
    );
    const haveNeigh = obsTunnel?.neighbours ?? [];
    for (const n of wantNeigh) {
      // neigh-add replaces by IP, so a changed MAC needs no delete.
      if (!haveNeigh.some((h) => h.ip === n.ip && h.mac === n.mac))
        ops.push({ op: 'neigh-add', name: t.name, ...n });
    }
    for (const n of haveNeigh) {
      if (!wantNeigh.some((w) => w.ip === n.ip)) late.push({ op: 'neigh-del', name: t.name, ...n });
    }
  }

  // --- routes and rules ---
  const want = desiredRulesAndRoutes(desired, own);
  for (const r of want.routes) {
    const cur = obsRoutes.find((o) => routeKey(o) === routeKey(r));
    // route-add replaces by (family, table, dst).
    if (cur === undefined || cur.gateway !== r.gateway || cur.dev !== r.dev)
      ops.push({ op: 'route-add', ...r });
  }
  const haveRules = new Set(observed.rules.map(ruleKey));
  for (const r of want.rules) if (!haveRules.has(ruleKey(r))) ops.push({ op: 'rule-add', ...r });
  const wantRules = new Set(want.rules.map(ruleKey));
  const ruleDels: DatapathOperation[] = observed.rules
    .filter((r) => !wantRules.has(ruleKey(r)))
    .map((r) => ({ op: 'rule-del', ...r }));
  const wantRouteKeys = new Set(want.routes.map(routeKey));
  const routeDels: DatapathOperation[] = obsRoutes
    .filter((r) => !wantRouteKeys.has(routeKey(r)))
    .map((r) => ({ op: 'route-del', ...r }));

  // --- nftables ---
  const content = desiredNftContent(desired, own, memo);
  if (content === null) {
    if (observed.nftTablePresent) ops.push({ op: 'nft-delete' });
  } else if (observed.nft === null || observed.nft.structure !== content.structure) {
    ops.push({
      op: 'nft-replace',
      content,
      egress: desired.egressInterface,
      tunnel: t?.name ?? 'egress.vxlan',
    });
  } else {
    const deltas = diffNftSets(observed.nft, content);
    if (deltas.length > 0) ops.push({ op: 'nft-update', deltas, content });
  }

  // --- EIPs: bind new ones before releasing old ones ---
  const wantEips = [...new Set(desired.eips.map(canonicalIpOrThrow))];
  const foreign = new Set(observed.foreignAddresses.map((a) => `${a.interface}|${a.address}`));
  for (const e of wantEips) {
    const ours = observed.eips.some((o) => o.address === e && o.interface === desired.egressInterface);
    if (!ours && !foreign.has(`${desired.egressInterface}|${e}`)) {
      ops.push({ op: 'eip-add', address: e, interface: desired.egressInterface });
    }
  }
  for (const o of observed.eips) {
    if (!(wantEips.includes(o.address) && o.interface === desired.egressInterface)) {
      ops.push({ op: 'eip-del', address: o.address, interface: o.interface });
    }
  }
  return [...ops, ...ruleDels, ...routeDels, ...late];
}
