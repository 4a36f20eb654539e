import { canonicalIpOrText } from '@egressgateway/netaddr';
import type { PreviousPlacement } from '../core/placement.js';
import { resolvePair } from './gateways.js';
import { eipUnit, type GatewayModel, isEipUnit, isResolved, nodeUnit, type ResolvedEip } from './model.js';
import type { EipPair, GatewayNodeLike } from './types.js';

/** What a gateway's written `status.nodeList` says, indexed for the engine. */
export interface StatusIndex {
  /** namespace -> policy name -> the EIP pair of the entry listing it (cluster policies under ''). */
  readonly policies: ReadonlyMap<string, ReadonlyMap<string, EipPair>>;
  /** Every (unit, node) the status lists. */
  readonly placements: readonly PreviousPlacement[];
  /** unit -> the EIP pair as written. */
  readonly eips: ReadonlyMap<string, EipPair>;
  /** EIP units the status lists on more than one node, with the nodes sorted. */
  readonly duplicates: ReadonlyArray<readonly [string, readonly string[]]>;
  /**
   * Per node entry, per EIP entry: the pool pair it names when written in canonical text, else `null`
   * (no address, an address outside the pool, or non-canonical text).
   */
  readonly canonical: ReadonlyArray<ReadonlyArray<ResolvedEip | null>>;
}

const EMPTY: StatusIndex = {
  policies: new Map(),
  placements: [],
  eips: new Map(),
  duplicates: [],
  canonical: [],
};

// Memoised per nodeList array (and pool memo, which the pair resolution depends on): a gateway whose
// status was not rewritten is the same object in the informer cache, so it is indexed once.
const memo = new WeakMap<
  readonly GatewayNodeLike[],
  { pairCache: object; name: string; index: StatusIndex }
>();

/** The index of a gateway's written status (memoised per `status.nodeList` object). */
export function statusIndexOf(gw: GatewayModel): StatusIndex {
  const nodeList = gw.gateway.status?.nodeList;
  // `null` is how JSON writes an absent list (the input guard passes it through as absent).
  if (nodeList === undefined || nodeList === null || nodeList.length === 0) return EMPTY;
  const hit = memo.get(nodeList);
  if (hit !== undefined && hit.pairCache === gw.pairCache && hit.name === gw.name) return hit.index;
  const index = buildIndex(gw, nodeList);
  memo.set(nodeList, { pairCache: gw.pairCache, name: gw.name, index });
  return index;
}

function buildIndex(gw: GatewayModel, nodeList: readonly GatewayNodeLike[]): StatusIndex {
  const policies = new Map<string, Map<string, EipPair>>();
  const placements: PreviousPlacement[] = [];
  const eips = new Map<string, EipPair>();
  // Owners of each unit, in listing order; a unit listed on many nodes (a corrupt or hostile status)
  // also gets a set, so that collecting its owners stays linear in the length of the status.
  const owners = new Map<string, string[]>();
  const ownerSets = new Map<string, Set<string>>();
  const canonical: Array<Array<ResolvedEip | null>> = [];
  const place = (unit: string, member: string) => {
    placements.push({ group: gw.name, address: unit, member });
    const list = owners.get(unit);
    if (list === undefined) owners.set(unit, [member]);
    else if (list.length < 8) {
      if (!list.includes(member)) list.push(member);
    } else {
      let set = ownerSets.get(unit);
      if (set === undefined) {
        set = new Set(list);
        ownerSets.set(unit, set);
      }
      if (!set.has(member)) {
        set.add(member);
        list.push(member);
      }
    }
  };
  for (const node of nodeList) {
    const canonicalOfNode: Array<ResolvedEip | null> = [];
    canonical.push(canonicalOfNode);
    for (const eip of node.eips ?? []) {
      const ipv4 = eip.ipv4 ?? '';
      const ipv6 = eip.ipv6 ?? '';
      const refs = eip.policies ?? [];
      if (refs.length > 0) {
        const written = { ipv4, ipv6 };
        for (const ref of refs) {
          const ns = ref.namespace ?? '';
          let byName = policies.get(ns);
          if (byName === undefined) {
            byName = new Map();
            policies.set(ns, byName);
          }
          byName.set(ref.name, written);
        }
      }
      if (ipv4 !== '' || ipv6 !== '') {
        const found = resolvePair(gw, ipv4, ipv6);
        const ok = isResolved(found);
        canonicalOfNode.push(ok && found.ipv4 === ipv4 && found.ipv6 === ipv6 ? found : null);
        // An address no longer in the pool (or never usable) still names a unit, so its release can
        // be reported.
        const pair = ok
          ? found
          : {
              ipv4: ipv4 === '' ? '' : canonicalIpOrText(ipv4),
              ipv6: ipv6 === '' ? '' : canonicalIpOrText(ipv6),
            };
        const unit = ok ? found.unit : eipUnit(pair);
        if (!eips.has(unit)) eips.set(unit, { ipv4: pair.ipv4, ipv6: pair.ipv6 });
        place(unit, node.name);
      } else {
        canonicalOfNode.push(null);
        for (const ref of refs) {
          const ns = ref.namespace ?? '';
          place(nodeUnit(ns === '' ? 'EgressClusterPolicy' : 'EgressPolicy', ns, ref.name), node.name);
        }
      }
    }
  }
  const duplicates: Array<readonly [string, readonly string[]]> = [];
  for (const [unit, list] of owners) {
    if (list.length > 1 && isEipUnit(unit)) duplicates.push([unit, [...list].sort()]);
  }
  return { policies, placements, eips, duplicates, canonical };
}
