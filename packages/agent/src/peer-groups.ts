import type { EgressGateway, EgressTunnel } from '@egressgateway/crds';
import { placeAddresses } from '@egressgateway/failover';

/** One EIP pair of a gateway as the peer core names it: `ipv4/ipv6` (either side may be empty). */
export interface PeerEip {
  /** The core's name for the pair, e.g. `10.6.1.55/fd00::55` or `10.6.1.55/`. */
  readonly key: string;
  /** The addresses to bind when the core holds the pair. */
  readonly addresses: readonly string[];
}

/** What the peer driver needs to know about one gateway this node is a member of (plain data). */
export interface PeerGroupView {
  /** The EgressGateway name (the protocol's group). */
  readonly name: string;
  /**
   * The gateway's nodes (its `status.nodeList`) ranked as the controller's placement would pick a
   * successor: fewest EIPs held over all gateways first, ties by name (see {@link rankMembers}).
   */
  readonly members: readonly string[];
  /** The gateway's EIP pairs in use (with policies), sorted by key. */
  readonly eips: readonly PeerEip[];
  /** The gateway status: EIP key → the node it places the pair on. */
  readonly holders: Readonly<Record<string, string>>;
  /** Member → the node address its adverts come from and go to (members without one are left out). */
  readonly addresses: ReadonlyMap<string, string>;
  /** `metadata.resourceVersion` of the gateway these holders were read from (for peer claims). */
  readonly version?: string | undefined;
}

/** The core's name for an EIP pair. */
export function eipKey(ipv4: string | undefined, ipv6: string | undefined): string {
  return `${ipv4 ?? ''}/${ipv6 ?? ''}`;
}

/**
 * Orders `members` as the failover engine would choose among them for a new address: the member
 * with the fewest addresses held (`held`, over all gateways) first, ties by name, then the next
 * one with the first excluded, and so on. Asks the engine itself ({@link placeAddresses}) once per
 * rank, so the agents' choice of successor follows the controller's placement rule even if that rule
 * changes. The engine spreads a dead node's several EIPs over the survivors; the core gives a whole
 * group one ranking, so with several EIPs the peers' successor is the engine's first pick for all.
 */
export function rankMembers(
  group: string,
  members: readonly string[],
  held: ReadonlyMap<string, number>,
): string[] {
  const ranked: string[] = [];
  const remaining = new Set(members);
  while (remaining.size > 0) {
    const health = new Map([...new Set(members)].map((m) => [m, { healthy: remaining.has(m) }]));
    const { decisions } = placeAddresses(
      [{ id: group, candidates: [...new Set(members)], addresses: ['successor'] }],
      health,
      [],
      { heldElsewhere: held },
    );
    const next = decisions[0]?.member;
    if (next === undefined || next === null || !remaining.has(next)) break;
    ranked.push(next);
    remaining.delete(next);
  }
  return ranked;
}

/**
 * The node address adverts between `me` and `other` use: IPv4 when both have one, else IPv6 when
 * both have one (sender and receiver pick the same, so the receiver's source check matches).
 */
function peerAddress(
  me: { ipv4?: string | undefined; ipv6?: string | undefined } | undefined,
  other: { ipv4?: string | undefined; ipv6?: string | undefined } | undefined,
): string | undefined {
  if (me?.ipv4 && other?.ipv4) return other.ipv4;
  if (me?.ipv6 && other?.ipv6) return other.ipv6;
  return undefined;
}

/**
 * The gateways `nodeName` is a member of, as the peer driver sees them: members ranked, EIP pairs
 * in use, who the status names for each, and each member's node address (from its EgressTunnel's
 * `status.tunnel.parent`, which every agent writes). Pure.
 */
export function peerGroups(
  nodeName: string,
  gateways: readonly EgressGateway[],
  tunnels: readonly EgressTunnel[],
): PeerGroupView[] {
  const parents = new Map<string, { ipv4?: string | undefined; ipv6?: string | undefined }>();
  for (const t of tunnels) {
    const p = t.status?.tunnel?.parent;
    if (t.metadata?.name && p) parents.set(t.metadata.name, { ipv4: p.ipv4, ipv6: p.ipv6 });
  }
  const held = new Map<string, number>();
  // As the engine counts load: addresses in use (with policies) only.
  for (const g of gateways)
    for (const n of g.status?.nodeList ?? []) {
      const used = (n.eips ?? []).filter((e) => (e.policies ?? []).length > 0).length;
      held.set(n.name, (held.get(n.name) ?? 0) + used);
    }

  const out: PeerGroupView[] = [];
  for (const g of gateways) {
    const name = g.metadata?.name;
    const nodes = (g.status?.nodeList ?? []).map((n) => n.name);
    if (!name || !nodes.includes(nodeName)) continue;
    const holders: Record<string, string> = {};
    const eips = new Map<string, PeerEip>();
    for (const n of g.status?.nodeList ?? []) {
      for (const e of n.eips ?? []) {
        if ((e.policies ?? []).length === 0 || (!e.ipv4 && !e.ipv6)) continue;
        const key = eipKey(e.ipv4, e.ipv6);
        holders[key] = n.name;
        eips.set(key, { key, addresses: [e.ipv4, e.ipv6].filter((a): a is string => !!a) });
      }
    }
    const addresses = new Map<string, string>();
    for (const m of nodes) {
      const a = peerAddress(parents.get(nodeName), parents.get(m));
      if (a !== undefined) addresses.set(m, a);
    }
    out.push({
      name,
      members: rankMembers(name, nodes, held),
      eips: [...eips.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      holders,
      addresses,
      version: g.metadata?.resourceVersion,
    });
  }
  return out;
}
