import { familyBits, formatIp, parseIp } from '@egressgateway/netaddr';
import { type CompiledSelector, compileSelector, requiredLabelAlternatives } from '../label-selector.js';
import { AddressPool } from '../pool.js';
import { describeValue, selectorShapeProblem } from './input-guard.js';
import {
  type GatewayModel,
  isResolved,
  type PairRefusal,
  type PoolModel,
  type ProblemSink,
  type ResolvedEip,
} from './model.js';
import type { EgressGatewayLike, NodeLike } from './types.js';
import { nameOf } from './types.js';

function resolved(ipv4: string, ipv6: string): ResolvedEip {
  return { ipv4, ipv6, unit: `eip:${ipv4}|${ipv6}` };
}

/** The EIP pair at a pool position (which may hold a reserved address: see {@link usableAt}). */
export function eipAt(gw: PoolModel, index: bigint): ResolvedEip {
  return resolved(gw.v4.at(index) ?? '', gw.v6.at(index) ?? '');
}

/** The EIP pair at a pool position, or `null` when the position holds a reserved address. */
export function usableAt(gw: PoolModel, index: bigint): ResolvedEip | null {
  if (gw.reservedPositions.has(index)) return null;
  const eip = eipAt(gw, index);
  // A pool listing a reserved address twice holds it at a second position too.
  return gw.reserved.has(eip.ipv4) || gw.reserved.has(eip.ipv6) ? null : eip;
}

/**
 * Resolves an EIP given by either or both addresses to a canonical pair. Given both, they are used as
 * given (each must be in its own pool); given one, it pairs with the address at the same position of
 * the other pool. Refused when an address is not in its pool, or is reserved (unspecified, network or
 * broadcast address): such an address is never handed out.
 */
export function resolvePair(gw: PoolModel, ipv4: string, ipv6: string): ResolvedEip | PairRefusal {
  let byV6 = gw.pairCache.get(ipv4);
  if (byV6 === undefined) {
    byV6 = new Map();
    gw.pairCache.set(ipv4, byV6);
  }
  let found = byV6.get(ipv6);
  if (found === undefined) {
    found = resolvePairUncached(gw, ipv4, ipv6);
    byV6.set(ipv6, found);
  }
  return found;
}

function resolvePairUncached(gw: PoolModel, ipv4: string, ipv6: string): ResolvedEip | PairRefusal {
  if (ipv4 === '' && ipv6 === '') return { refusal: 'NotInPool', message: 'no address given' };
  const i4 = ipv4 === '' ? null : gw.v4.indexOf(ipv4);
  const i6 = ipv6 === '' ? null : gw.v6.indexOf(ipv6);
  if (i4 === -1n)
    return { refusal: 'NotInPool', message: `${ipv4} is not in the ipv4 pool of gateway ${gw.name}` };
  if (i6 === -1n)
    return { refusal: 'NotInPool', message: `${ipv6} is not in the ipv6 pool of gateway ${gw.name}` };
  const pair = resolved(gw.v4.at((i4 ?? i6) as bigint) ?? '', gw.v6.at((i6 ?? i4) as bigint) ?? '');
  for (const address of [pair.ipv4, pair.ipv6]) {
    const why = gw.reserved.get(address);
    if (why !== undefined)
      return { refusal: 'NotUsable', message: `${address} is ${why}, never handed out as an EIP` };
  }
  return pair;
}

const gwRef = (name: string) => ({ kind: 'EgressGateway' as const, name });

function warn(report: ProblemSink, name: string, reason: string, message: string): void {
  report({ type: 'Warning', reason, message, involvedObject: gwRef(name) });
}

const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * Indexes nodes by `key=value` so selectors with required labels touch only matching nodes. A key is
 * indexed the first time a selector asks for it: nodes carry many labels that no selector names.
 */
export class NodeIndex {
  private readonly byLabel = new Map<string, Map<string, string[]>>();
  readonly names: readonly string[];
  /** Name -> node, the first of a name (selection goes by the first). */
  private readonly firstByName = new Map<string, NodeLike>();
  /** Name -> the last node of a name listed more than once (status reads go by the last). */
  private readonly lastByName = new Map<string, NodeLike>();

  constructor(nodes: readonly NodeLike[]) {
    const names: string[] = [];
    for (const node of nodes) {
      const name = nameOf(node);
      if (name === '') continue;
      if (this.firstByName.has(name)) {
        this.lastByName.set(name, node);
        continue;
      }
      this.firstByName.set(name, node);
      names.push(name);
    }
    this.names = names;
  }

  /** Labels of the (first) node of a name. */
  labelsOf(name: string): Readonly<Record<string, string>> {
    return this.firstByName.get(name)?.metadata?.labels ?? {};
  }

  /** The node of a name; of duplicates the last one, as `new Map(entries)` would keep. */
  node(name: string): NodeLike | undefined {
    return this.lastByName.size === 0
      ? this.firstByName.get(name)
      : (this.lastByName.get(name) ?? this.firstByName.get(name));
  }

  /** value -> names (in node order) of the nodes labelled `key=value`. */
  private bucketsOf(key: string): Map<string, string[]> {
    let values = this.byLabel.get(key);
    if (values === undefined) {
      values = new Map();
      for (const [name, node] of this.firstByName) {
        const labels = node.metadata?.labels ?? {};
        if (!isEnumerable.call(labels, key)) continue;
        const v = labels[key] as string;
        const list = values.get(v);
        if (list === undefined) values.set(v, [name]);
        else list.push(name);
      }
      this.byLabel.set(key, values);
    }
    return values;
  }

  /** Candidate names for a list of required label alternatives (the smallest bucket set wins). */
  narrow(alternatives: Array<Array<[string, string]>>): readonly string[] {
    let best: readonly string[] = this.names;
    for (const alt of alternatives) {
      if (alt.length === 1) {
        // One pair: its bucket already lists each node once, in node order, as the union would.
        const [k, v] = alt[0] as [string, string];
        const bucket = this.bucketsOf(k).get(v) ?? [];
        if (bucket.length < best.length) best = bucket;
        continue;
      }
      const union = new Set<string>();
      for (const [k, v] of alt) for (const n of this.bucketsOf(k).get(v) ?? []) union.add(n);
      if (union.size < best.length) best = [...union];
    }
    return best;
  }
}

/**
 * Builds the model of every gateway and reports configuration problems (bad pool entries, default EIP
 * missing or outside the pool, selector missing or invalid, no selected node, overlapping pools,
 * several cluster-default gateways). Never throws.
 */
export function buildGateways(
  gateways: readonly EgressGatewayLike[],
  nodes: NodeIndex,
  report: ProblemSink,
): Map<string, GatewayModel> {
  const models = new Map<string, GatewayModel>();
  const sorted = [...gateways].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  for (const gateway of sorted) {
    const name = nameOf(gateway);
    if (name === '' || models.has(name)) continue;
    const pool = poolModelOf(name, gateway.spec?.ippools);
    for (const [reason, message] of pool.problems) warn(report, name, reason, message);
    models.set(name, {
      name: pool.name,
      v4: pool.v4,
      v6: pool.v6,
      eipCount: pool.eipCount,
      reserved: pool.reserved,
      reservedPositions: pool.reservedPositions,
      defaultEip: pool.defaultEip,
      pairCache: pool.pairCache,
      unitPositions: pool.unitPositions,
      problems: pool.problems,
      gateway,
      candidates: selectNodes(name, gateway, nodes, report),
    });
  }
  reportOverlaps([...models.values()], report);
  const defaults = [...models.values()].filter((g) => g.gateway.spec?.clusterDefault === true);
  if (defaults.length > 1) {
    for (const g of defaults) {
      warn(
        report,
        g.name,
        'MultipleClusterDefaults',
        `spec.clusterDefault is set on ${defaults.map((d) => d.name).join(', ')}; ${defaults[0]?.name} is used`,
      );
    }
  }
  return models;
}

type Pools = NonNullable<NonNullable<EgressGatewayLike['spec']>['ippools']>;

const poolMemo = new WeakMap<Pools, PoolModel>();

function poolModelOf(name: string, pools: Pools | undefined): PoolModel {
  // Hostile input may put anything here (null, a string): only objects can key the memo.
  const memoKey = typeof pools === 'object' && pools !== null ? pools : undefined;
  const hit = memoKey === undefined ? undefined : poolMemo.get(memoKey);
  if (hit !== undefined && hit.name === name) return hit;
  const problems: Array<readonly [string, string]> = [];
  const v4 = AddressPool.parse(4, pools?.ipv4);
  const v6 = AddressPool.parse(6, pools?.ipv6);
  for (const [pool, field] of [
    [v4, 'ipv4'],
    [v6, 'ipv6'],
  ] as const) {
    for (const p of pool.problems) {
      problems.push([
        'InvalidPoolEntry',
        `spec.ippools.${field}[${p.index}] ${JSON.stringify(p.entry)}: ${p.message}`,
      ]);
    }
  }
  if (v4.size > 0n && v6.size > 0n && v4.size !== v6.size) {
    problems.push([
      'PoolSizeMismatch',
      `spec.ippools: ipv4 has ${v4.size} addresses and ipv6 ${v6.size}; EIPs past the shorter pool are single stack`,
    ]);
  }
  // biome-ignore lint/complexity/useMathMinMax: bigints, Math.max does not take them
  const eipCount = v4.size > v6.size ? v4.size : v6.size;
  const reserved = new Map<string, string>();
  reserveAddresses(v4, pools?.ipv4, reserved);
  reserveAddresses(v6, pools?.ipv6, reserved);
  const reservedPositions = new Set<bigint>();
  for (const address of reserved.keys()) {
    const i = address.includes(':') ? v6.indexOf(address) : v4.indexOf(address);
    if (i !== -1n) reservedPositions.add(i);
  }
  const partial: PoolModel = {
    name,
    v4,
    v6,
    eipCount,
    reserved,
    reservedPositions,
    defaultEip: null,
    pairCache: new Map(),
    unitPositions: new Map(),
    problems,
  };
  const first = firstUsable(partial);
  let defaultEip: ResolvedEip | null = null;
  if (eipCount > 0n) {
    const d4 = pools?.ipv4DefaultEIP ?? '';
    const d6 = pools?.ipv6DefaultEIP ?? '';
    if (d4 === '' && d6 === '') {
      problems.push([
        'DefaultEIPMissing',
        'spec.ippools has no ipv4DefaultEIP/ipv6DefaultEIP; using the first pool address',
      ]);
      defaultEip = first;
    } else {
      const found = resolvePair(partial, d4, d6);
      if (!isResolved(found)) {
        problems.push([
          found.refusal === 'NotUsable' ? 'DefaultEIPNotUsable' : 'DefaultEIPNotInPool',
          `spec.ippools default EIP: ${found.message}; using the first usable pool address`,
        ]);
        defaultEip = first;
      } else defaultEip = found;
    }
  }
  const model: PoolModel = { ...partial, defaultEip };
  if (memoKey !== undefined) poolMemo.set(memoKey, model);
  return model;
}

/** The first pool position holding no reserved address, or `null` (looks past the reserved ones only). */
function firstUsable(gw: PoolModel): ResolvedEip | null {
  // Reserved addresses sit at the ends of entries: past two per entry, a position is usable.
  const limit = BigInt(2 * (gw.v4.segments.length + gw.v6.segments.length) + 1);
  for (let i = 0n; i < gw.eipCount && i <= limit; i++) {
    const eip = usableAt(gw, i);
    if (eip !== null) return eip;
  }
  return null;
}

/**
 * Records the addresses of a pool that are never handed out although the pool holds them: the
 * unspecified address, and the network address of each IPv6 CIDR entry up to /126 (the subnet-router
 * anycast address, RFC 4291), taken from every entry as written, even one whose addresses an earlier
 * entry already lists. IPv4 network and broadcast addresses need nothing here: the pool module leaves
 * them out of an IPv4 CIDR as upstream does, and an address listed on its own is handed out as
 * upstream hands it out.
 */
function reserveAddresses(pool: AddressPool, entries: unknown, reserved: Map<string, string>): void {
  const family = pool.family;
  const bits = familyBits(family);
  if (pool.size > 0n) reserved.set(formatIp(family, 0n), 'the unspecified address');
  if (family !== 6 || !Array.isArray(entries)) return;
  for (const entry of entries) {
    if (typeof entry !== 'string') continue;
    const slash = entry.indexOf('/');
    if (slash === -1) continue;
    const parsed = parseIp(entry.slice(0, slash));
    const prefix = Number(entry.slice(slash + 1));
    if (!parsed.ok || parsed.value.family !== family || !Number.isInteger(prefix) || prefix >= bits - 1)
      continue;
    const hostBits = BigInt(bits - prefix);
    const network = formatIp(family, (parsed.value.value >> hostBits) << hostBits);
    if (pool.indexOf(network) !== -1n && !reserved.has(network)) {
      reserved.set(network, `the subnet-router anycast address of ${entry}`);
    }
  }
}

type Selector = NonNullable<NonNullable<NonNullable<EgressGatewayLike['spec']>['nodeSelector']>['selector']>;
type Compiled = CompiledSelector & { readonly alternatives: Array<Array<[string, string]>> };

// A compiled selector and its required labels are a deterministic function of the selector object,
// which an unchanged gateway keeps: memoised per object, never changing a result.
const selectorMemo = new WeakMap<object, Compiled>();

function compiledSelectorOf(selector: Selector): Compiled {
  let hit = selectorMemo.get(selector);
  if (hit === undefined) {
    // A selector of the wrong shape (hostile or hand-written input) selects nothing, like an invalid one.
    const shape = selectorShapeProblem(selector);
    hit =
      shape !== null
        ? { ok: false, message: shape, alternatives: [] }
        : { ...compileSelector(selector), alternatives: requiredLabelAlternatives(selector) };
    selectorMemo.set(selector, hit);
  }
  return hit;
}

function selectNodes(
  name: string,
  gateway: EgressGatewayLike,
  nodes: NodeIndex,
  report: ProblemSink,
): string[] {
  const selector: unknown = gateway.spec?.nodeSelector?.selector;
  if (selector === undefined || selector === null) {
    warn(report, name, 'NoNodeSelector', 'spec.nodeSelector.selector is required; no node is selected');
    return [];
  }
  if (typeof selector !== 'object' || Array.isArray(selector)) {
    warn(
      report,
      name,
      'InvalidNodeSelector',
      `spec.nodeSelector.selector must be an object, got ${describeValue(selector)}; no node is selected`,
    );
    return [];
  }
  const compiled = compiledSelectorOf(selector as Selector);
  if (!compiled.ok) {
    warn(report, name, 'InvalidNodeSelector', `spec.nodeSelector.selector.${compiled.message}`);
    return [];
  }
  const selected = nodes.narrow(compiled.alternatives).filter((n) => compiled.matches(nodes.labelsOf(n)));
  // Names are unique and usually listed in order already; sorting allocates even then.
  if (!isSortedUnique(selected)) selected.sort();
  if (selected.length === 0)
    warn(report, name, 'NoSelectedNode', 'spec.nodeSelector.selector matches no node');
  return selected;
}

function isSortedUnique(names: readonly string[]): boolean {
  for (let i = 1; i < names.length; i++) if ((names[i - 1] as string) >= (names[i] as string)) return false;
  return true;
}

function reportOverlaps(models: readonly GatewayModel[], report: ProblemSink): void {
  for (const family of ['v4', 'v6'] as const) {
    const segments = models.flatMap((g) =>
      g[family].segments.map((s) => ({ start: s.start, end: s.end, entry: s.entry, gw: g.name })),
    );
    segments.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const pairs = new Set<string>();
    let reach: (typeof segments)[number] | undefined;
    for (const s of segments) {
      if (reach !== undefined && s.start <= reach.end) {
        const pair = [reach.gw, s.gw].sort().join('\u0000');
        if (!pairs.has(pair)) {
          pairs.add(pair);
          const msg = `spec.ippools: ${s.entry} (${s.gw}) overlaps ${reach.entry} (${reach.gw}); shared addresses go to the gateway first by name`;
          for (const g of new Set([reach.gw, s.gw])) warn(report, g, 'PoolOverlap', msg);
        }
      }
      if (reach === undefined || s.end > reach.end) reach = s;
    }
  }
}
