import type { ResolvedPolicy } from './egress-policies.js';
import type { EgressEvent, EgressGatewayLike, EipPair, NodeLike } from './egress-types.js';
import { nameOf } from './egress-types.js';
import { type CompiledSelector, compileSelector, requiredLabelAlternatives } from './label-selector.js';
import { AddressPool } from './pool.js';

/**
 * A gateway's parsed pools, default EIP and pair memo: a pure function of `spec.ippools`, memoised per
 * `ippools` object so that an unchanged gateway (the same object in an informer cache) is not parsed
 * again on every reconcile.
 */
export interface PoolModel {
  readonly name: string;
  readonly v4: AddressPool;
  readonly v6: AddressPool;
  /** Number of EIPs: the n-th IPv4 pairs with the n-th IPv6; the longer pool decides. */
  readonly eipCount: bigint;
  /** The default EIP pair, or `null` when the pools are empty. */
  readonly defaultEip: ResolvedEip | null;
  /**
   * Memo of {@link resolvePair} (ipv4 -> ipv6 -> result): thousands of policies and status entries name
   * the same EIPs, and nested maps keyed by the original strings avoid building a key per lookup.
   */
  readonly pairCache: Map<string, Map<string, ResolvedEip | string>>;
  /** Memo of unit key -> pool positions (ipv4, ipv6; `-1n` for none), for ordering status entries. */
  readonly unitPositions: Map<string, readonly [bigint, bigint]>;
  /** Pool problems (reason, message), replayed on every reconcile: problems are level-triggered. */
  readonly problems: ReadonlyArray<readonly [string, string]>;
}

/** A gateway prepared for one reconcile: parsed pools, default EIP, selected nodes. */
export interface GatewayModel extends PoolModel {
  readonly gateway: EgressGatewayLike;
  /** Names of the selected nodes, sorted. */
  readonly candidates: readonly string[];
}

/** An EIP pair in canonical text with its placement unit key (`eip:<ipv4>|<ipv6>`), computed once. */
export interface ResolvedEip extends EipPair {
  readonly unit: string;
}

function resolved(ipv4: string, ipv6: string): ResolvedEip {
  return { ipv4, ipv6, unit: `eip:${ipv4}|${ipv6}` };
}

/** Collects level-triggered problems (with the policy a problem is about, when it is about one). */
export type ProblemSink = (problem: EgressEvent, policy?: ResolvedPolicy) => void;

/** The EIP pair at a pool position. */
export function eipAt(gw: PoolModel, index: bigint): ResolvedEip {
  return resolved(gw.v4.at(index) ?? '', gw.v6.at(index) ?? '');
}

/**
 * Resolves an EIP given by either or both addresses to a canonical pair. Given both, they are used as
 * given (each must be in its own pool); given one, it pairs with the address at the same position of
 * the other pool. Returns a message when an address is not in its pool.
 */
export function resolvePair(gw: PoolModel, ipv4: string, ipv6: string): ResolvedEip | string {
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

function resolvePairUncached(gw: PoolModel, ipv4: string, ipv6: string): ResolvedEip | string {
  if (ipv4 === '' && ipv6 === '') return 'no address given';
  const i4 = ipv4 === '' ? null : gw.v4.indexOf(ipv4);
  const i6 = ipv6 === '' ? null : gw.v6.indexOf(ipv6);
  if (i4 === -1n) return `${ipv4} is not in the ipv4 pool of gateway ${gw.name}`;
  if (i6 === -1n) return `${ipv6} is not in the ipv6 pool of gateway ${gw.name}`;
  return resolved(gw.v4.at((i4 ?? i6) as bigint) ?? '', gw.v6.at((i6 ?? i4) as bigint) ?? '');
}

/** Placement unit key of an EIP pair. */
export function eipUnit(eip: EipPair): string {
  return `eip:${eip.ipv4}|${eip.ipv6}`;
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
  const hit = pools === undefined ? undefined : poolMemo.get(pools);
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
  const partial = {
    name,
    v4,
    v6,
    eipCount,
    defaultEip: null,
    pairCache: new Map(),
    unitPositions: new Map(),
    problems,
  };
  let defaultEip: ResolvedEip | null = null;
  if (eipCount > 0n) {
    const d4 = pools?.ipv4DefaultEIP ?? '';
    const d6 = pools?.ipv6DefaultEIP ?? '';
    if (d4 === '' && d6 === '') {
      problems.push([
        'DefaultEIPMissing',
        'spec.ippools has no ipv4DefaultEIP/ipv6DefaultEIP; using the first pool address',
      ]);
      defaultEip = eipAt(partial, 0n);
    } else {
      const found = resolvePair(partial, d4, d6);
      if (typeof found === 'string') {
        problems.push([
          'DefaultEIPNotInPool',
          `spec.ippools default EIP: ${found}; using the first pool address`,
        ]);
        defaultEip = eipAt(partial, 0n);
      } else defaultEip = found;
    }
  }
  const model: PoolModel = { ...partial, defaultEip };
  if (pools !== undefined) poolMemo.set(pools, model);
  return model;
}

type Selector = NonNullable<NonNullable<NonNullable<EgressGatewayLike['spec']>['nodeSelector']>['selector']>;

// A compiled selector and its required labels are a pure function of the selector object, which an
// unchanged gateway keeps: memoised per object, never changing a result.
const selectorMemo = new WeakMap<
  Selector,
  CompiledSelector & { readonly alternatives: Array<Array<[string, string]>> }
>();

function compiledSelectorOf(
  selector: Selector,
): CompiledSelector & { readonly alternatives: Array<Array<[string, string]>> } {
  let hit = selectorMemo.get(selector);
  if (hit === undefined) {
    hit = { ...compileSelector(selector), alternatives: requiredLabelAlternatives(selector) };
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
  const selector = gateway.spec?.nodeSelector?.selector;
  if (selector === undefined || selector === null) {
    warn(report, name, 'NoNodeSelector', 'spec.nodeSelector.selector is required; no node is selected');
    return [];
  }
  const compiled = compiledSelectorOf(selector);
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
    const segments = models.flatMap((g) => g[family].segments.map((s) => ({ ...s, gw: g.name })));
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
