import { elementKey, type NFT_SETS, type NftContent } from './nft-content.js';
import type { ObservedState } from './observed.js';
import type { DatapathOperation } from './operations.js';

/**
 * Pure model of what executing `ops` does to the kernel, expressed on {@link ObservedState}.
 * It mirrors the kernel side effects the planner relies on (deleting the tunnel device drops its
 * addresses, FDB, neighbours and routes; route-add and neigh-add replace). Used by the property
 * tests and handy for dry runs.
 */
export function simulateOperations(
  observed: ObservedState,
  ops: readonly DatapathOperation[],
): ObservedState {
  let s: ObservedState = observed;
  for (const o of ops) s = step(s, o);
  return s;
}

function step(s: ObservedState, o: DatapathOperation): ObservedState {
  const t = s.tunnel;
  switch (o.op) {
    case 'tunnel-delete':
      return { ...s, tunnel: null, routes: s.routes.filter((r) => r.dev !== o.name) };
    case 'tunnel-create':
      return {
        ...s,
        tunnel: {
          name: o.name,
          vni: o.vni,
          port: o.port,
          localUnderlay: o.localUnderlay,
          learning: false,
          mac: 'random',
          up: false,
          rpFilter: 0,
          addresses: [],
          fdb: [],
          neighbours: [],
        },
      };
    case 'tunnel-set':
      return t === null ? s : { ...s, tunnel: { ...t, mac: o.mac, up: true } };
    case 'tunnel-rp-filter':
      return t === null ? s : { ...s, tunnel: { ...t, rpFilter: o.value } };
    case 'tunnel-address-add':
      return t === null ? s : { ...s, tunnel: { ...t, addresses: [...t.addresses, o.cidr] } };
    case 'tunnel-address-del':
      return t === null ? s : { ...s, tunnel: { ...t, addresses: t.addresses.filter((a) => a !== o.cidr) } };
    case 'fdb-add':
      return t === null ? s : { ...s, tunnel: { ...t, fdb: [...t.fdb, { mac: o.mac, dst: o.dst }] } };
    case 'fdb-del':
      return t === null
        ? s
        : { ...s, tunnel: { ...t, fdb: t.fdb.filter((f) => !(f.mac === o.mac && f.dst === o.dst)) } };
    case 'neigh-add':
      return t === null
        ? s
        : {
            ...s,
            tunnel: {
              ...t,
              neighbours: [...t.neighbours.filter((n) => n.ip !== o.ip), { ip: o.ip, mac: o.mac }],
            },
          };
    case 'neigh-del':
      return t === null
        ? s
        : { ...s, tunnel: { ...t, neighbours: t.neighbours.filter((n) => n.ip !== o.ip) } };
    case 'route-add': {
      const { op: _op, ...r } = o;
      const others = s.routes.filter(
        (x) => !(x.family === r.family && x.table === r.table && x.dst === r.dst),
      );
      return { ...s, routes: [...others, r] };
    }
    case 'route-del':
      return {
        ...s,
        routes: s.routes.filter((x) => !(x.family === o.family && x.table === o.table && x.dst === o.dst)),
      };
    case 'rule-add': {
      const { op: _op, ...r } = o;
      return { ...s, rules: [...s.rules, r] };
    }
    case 'rule-del':
      return {
        ...s,
        rules: s.rules.filter(
          (x) =>
            !(x.family === o.family && x.priority === o.priority && x.mark === o.mark && x.table === o.table),
        ),
      };
    case 'eip-add':
      return { ...s, eips: [...s.eips, { address: o.address, interface: o.interface, validLft: 30 }] };
    case 'eip-del':
      return { ...s, eips: s.eips.filter((e) => !(e.address === o.address && e.interface === o.interface)) };
    case 'nft-replace':
      return { ...s, nftTablePresent: true, nft: o.content };
    case 'nft-delete':
      return { ...s, nftTablePresent: false, nft: null };
    case 'nft-update': {
      if (s.nft === null) return s;
      const sets = { ...s.nft.sets } as Record<(typeof NFT_SETS)[number], readonly string[]>;
      for (const d of o.deltas) {
        const removeKeys = new Set(d.remove.map(elementKey));
        sets[d.set] = [...sets[d.set].filter((e) => !removeKeys.has(elementKey(e))), ...d.add].sort();
      }
      const nft: NftContent = { structure: s.nft.structure, sets };
      return { ...s, nft };
    }
  }
}
