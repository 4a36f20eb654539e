import { eipUnit, type GatewayModel, type ResolvedEip, resolvePair } from './egress-gateways.js';
import type { EipPair, GatewayNodeLike } from './egress-types.js';
import { canonicalIp } from './ip.js';
import type { PreviousPlacement } from './placement.js';

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
  if (nodeList === undefined || nodeList.length === 0) return EMPTY;
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
  const owners = new Map<string, string[]>();
  const canonical: Array<Array<ResolvedEip | null>> = [];
  for (const node of nodeList) {
    const canonicalOfNode: Array<ResolvedEip | null> = [];
    canonical.push(canonicalOfNode);
    for (const eip of node.eips ?? []) {
      const ipv4 = eip.ipv4 ?? '';
      const ipv6 = eip.ipv6 ?? '';
      const written = { ipv4, ipv6 };
      const units: string[] = [];
      for (const ref of eip.policies ?? []) {
        const ns = ref.namespace ?? '';
        let byName = policies.get(ns);
        if (byName === undefined) {
          byName = new Map();
          policies.set(ns, byName);
        }
        byName.set(ref.name, written);
      }
      if (ipv4 !== '' || ipv6 !== '') {
        const found = resolvePair(gw, ipv4, ipv6);
        canonicalOfNode.push(
          typeof found !== 'string' && found.ipv4 === ipv4 && found.ipv6 === ipv6 ? found : null,
        );
        // An address no longer in the pool still names a unit, so its release can be reported.
        const pair =
          typeof found === 'string'
            ? {
                ipv4: ipv4 === '' ? '' : (canonicalIp(ipv4) ?? ipv4),
                ipv6: ipv6 === '' ? '' : (canonicalIp(ipv6) ?? ipv6),
              }
            : found;
        const unit = typeof found === 'string' ? eipUnit(pair) : found.unit;
        units.push(unit);
        eips.set(unit, { ipv4: pair.ipv4, ipv6: pair.ipv6 });
      } else {
        canonicalOfNode.push(null);
        for (const ref of eip.policies ?? []) {
          const ns = ref.namespace ?? '';
          units.push(`node:${ns === '' ? 'EgressClusterPolicy' : 'EgressPolicy'}/${ns}/${ref.name}`);
        }
      }
      for (const unit of units) {
        placements.push({ group: gw.name, address: unit, member: node.name });
        const list = owners.get(unit);
        if (list === undefined) owners.set(unit, [node.name]);
        else if (!list.includes(node.name)) list.push(node.name);
      }
    }
  }
  const duplicates: Array<readonly [string, readonly string[]]> = [];
  for (const [unit, list] of owners) {
    if (list.length > 1 && unit.startsWith('eip:')) duplicates.push([unit, [...list].sort()]);
  }
  return { policies, placements, eips, duplicates, canonical };
}
