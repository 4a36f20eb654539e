// The part of a reconcile that does not depend on time or heartbeats: gateway models, policy
// resolution, the written placements. Between two status writes only heartbeats change, so this is
// reused as it is; after the caller's own status writes only the gateways written are resolved again;
// anything else builds it anew.
import type { PreviousPlacement } from '../core/placement.js';
import { eipText } from './events.js';
import { buildGateways, NodeIndex } from './gateways.js';
import { guardGateway, guardNamespaceLabels, guardNode, ListGuard, type StateLists } from './input-guard.js';
import { comparePolicies, type GatewayModel, isEipUnit, type ResolvedPolicy } from './model.js';
import { resolvePolicies } from './policies.js';
import { statusIndexOf } from './status-index.js';
import type {
  EgressEvent,
  EgressGatewayLike,
  EgressPolicyLike,
  EgressState,
  EipPair,
  GatewayStatusChange,
  NodeLike,
  PolicyStatusChange,
} from './types.js';
import { nameOf } from './types.js';

/** What one gateway's last reconcile decided, kept while its inputs stay the same. */
export interface GatewayOutcome {
  /** Per candidate: the phase to write and whether it is healthy (see `signatureMatches`). */
  readonly signature: ReadonlyArray<string | boolean>;
  /**
   * Addresses per node when every decision kept its node (the outcome then depends on no other
   * gateway, and other gateways' new placements count these); `null` otherwise, and then the outcome
   * is computed again on the next call, because it depended on the load of other gateways.
   */
  readonly keptLoad: ReadonlyMap<string, number> | null;
  readonly gateway: GatewayStatusChange | null;
  readonly policies: readonly PolicyStatusChange[];
  readonly events: readonly EgressEvent[];
  readonly problems: readonly EgressEvent[];
}

/** Everything a reconcile derives from gateways, nodes, policies and namespace labels. */
export interface EgressStructure {
  readonly nodeIndex: NodeIndex;
  /** Gateway models by name, in name order. */
  readonly gateways: ReadonlyMap<string, GatewayModel>;
  /** Per gateway: placement unit -> the policies using it, in canonical policy order. */
  readonly unitsByGateway: ReadonlyMap<string, ReadonlyMap<string, ResolvedPolicy[]>>;
  /** Per gateway: every (unit, node) its written status lists. */
  readonly previous: ReadonlyMap<string, readonly PreviousPlacement[]>;
  /** Nodes some gateway selects (these heartbeat and get a phase), each once; their slots are indexes here. */
  readonly selected: readonly string[];
  /** Selected node name -> slot. */
  readonly slotOf: ReadonlyMap<string, number>;
  /** Per gateway: the slots of its candidates, in candidate order. */
  readonly candidateSlots: ReadonlyMap<string, readonly number[]>;
  /** Per selected node: the gateways selecting it. */
  readonly gatewaysOf: ReadonlyMap<string, readonly string[]>;
  /** Per slot: whether the Node's Ready condition allows holding EIPs. */
  readonly ready: readonly boolean[];
  /** Events that follow from the written statuses alone: duplicate owners, released EIPs. */
  readonly events: readonly EgressEvent[];
  /** Input problems found while building gateways and resolving policies. */
  readonly problems: readonly EgressEvent[];
  /** Status changes of policies that have no placement unit (no gateway, EIP not usable...). */
  readonly policies: readonly PolicyStatusChange[];
  /** Outcomes per gateway, valid for this structure and the settings they were computed with. */
  readonly outcomes: Map<string, GatewayOutcome>;
  /** What each gateway (and, under `null`, the policies without one) contributes; see {@link Part}. */
  readonly parts: ReadonlyMap<string | null, Part>;
  /**
   * Per input position in `clusterPolicies` and `policies`: the key of the part its policy belongs
   * to, `undefined` for inputs that resolved to nothing (nameless, or a duplicate).
   */
  readonly clusterPart: ReadonlyArray<string | null | undefined>;
  readonly policyPart: ReadonlyArray<string | null | undefined>;
  /** Problems of the gateways themselves (pools, selectors, overlaps, cluster defaults). */
  readonly gatewayProblems: readonly EgressEvent[];
  /** Defects of the objects themselves, found by the input guard (`InvalidInput`). */
  readonly inputProblems: readonly EgressEvent[];
  /**
   * Whether gateways resolve independently (no two gateways' pools overlap), so that a replaced
   * policy or gateway status needs only its gateway resolved again.
   */
  readonly separable: boolean;
  /** The settings `outcomes` were computed with (`''` before the first). */
  outcomesKey: string;
}

/**
 * What one gateway contributes to a structure (or, for the part keyed `null`, the policies that have
 * no gateway): its policies' input positions, their placement units, and the events, problems and
 * status changes that follow from its objects alone.
 */
export interface Part {
  /** Positions of its policies in `clusterPolicies` and in `policies`, ascending. */
  readonly clusterAt: readonly number[];
  readonly policyAt: readonly number[];
  /** Placement unit -> the policies using it, in canonical policy order. */
  readonly units: ReadonlyMap<string, ResolvedPolicy[]>;
  /** Every (unit, node) the gateway's written status lists. */
  readonly previous: readonly PreviousPlacement[];
  readonly events: readonly EgressEvent[];
  readonly problems: readonly EgressEvent[];
  readonly unplaced: readonly PolicyStatusChange[];
}

/**
 * Sorts a unit's users in place, stably, into canonical order. Lists are short (the policies sharing
 * one EIP) and usually sorted already; `Array.prototype.sort` allocates scratch space on every call.
 */
function sortUsers(users: ResolvedPolicy[]): void {
  for (let i = 1; i < users.length; i++) {
    const u = users[i] as ResolvedPolicy;
    let j = i - 1;
    while (j >= 0 && comparePolicies(users[j] as ResolvedPolicy, u) > 0) {
      users[j + 1] = users[j] as ResolvedPolicy;
      j--;
    }
    users[j + 1] = u;
  }
}

function nodeReady(node: NodeLike | undefined): boolean {
  // A node without a Ready condition (just registered) is not held against it: the heartbeat decides.
  for (const c of node?.status?.conditions ?? []) if (c.type === 'Ready') return c.status === 'True';
  return true;
}

/** The node's first InternalIP of each family (what a useNodeIP policy's status names). */
export function nodeAddresses(node: NodeLike | undefined): EipPair {
  let ipv4 = '';
  let ipv6 = '';
  for (const a of node?.status?.addresses ?? []) {
    if (a.type !== 'InternalIP') continue;
    if (a.address.includes(':')) ipv6 ||= a.address;
    else ipv4 ||= a.address;
  }
  return { ipv4, ipv6 };
}

/** What a structure is derived from: the guarded gateways, nodes, policies and namespace labels. */
export type StructureInput = Pick<
  EgressState,
  'gateways' | 'nodes' | 'policies' | 'clusterPolicies' | 'namespaceLabels'
>;

/** The inputs a structure was built from: the lists as given (copied) and as guarded. */
interface Inputs {
  readonly raw: {
    readonly gateways: readonly unknown[];
    readonly nodes: readonly unknown[];
    readonly policies: readonly unknown[];
    readonly clusterPolicies: readonly unknown[];
    readonly namespaceLabels: unknown;
  };
  readonly guarded: StructureInput;
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Whether two namespace label maps hold the same labels (anything that is not a map compares by identity). */
function sameLabels(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!isObj(a) || !isObj(b)) return (a ?? null) === (b ?? null);
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const ns of ka) {
    const la = a[ns];
    const lb = b[ns];
    if (la === lb) continue;
    if (!isObj(la) || !isObj(lb)) return false;
    const keys = Object.keys(la);
    if (keys.length !== Object.keys(lb).length) return false;
    for (const k of keys) if (la[k] !== lb[k] || !Object.hasOwn(lb, k)) return false;
  }
  return true;
}

function sameInputs(i: Inputs['raw'], lists: StateLists): boolean {
  return (
    sameItems(i.gateways, lists.gateways) &&
    sameItems(i.nodes, lists.nodes) &&
    sameItems(i.policies, lists.policies) &&
    sameItems(i.clusterPolicies, lists.clusterPolicies) &&
    sameLabels(i.namespaceLabels, lists.namespaceLabels)
  );
}

/** A copy of a list that is read unguarded (the caller may reuse its array for the next state). */
function unguarded<T>(given: readonly T[]): {
  raw: readonly T[];
  list: readonly T[];
  problems: EgressEvent[];
} {
  const raw = given.slice();
  return { raw, list: raw, problems: [] };
}

/**
 * Keeps the structure of the last state it was asked for. One is kept, so a caller alternating
 * between unrelated states only loses speed.
 */
export class StructureCache {
  private last: { inputs: Inputs; structure: EgressStructure } | null = null;
  private readonly gateways = new ListGuard(guardGateway);
  private readonly nodes = new ListGuard(guardNode);

  /**
   * The structure of a state's lists: the one of the previous call when gateways, nodes, policies and
   * namespace labels are the very same objects as then (only tunnels or time differ); one derived
   * from it when only statuses of gateways and policies were replaced; else a new one. Objects are
   * guarded (see `input-guard.ts`) only when something changed.
   */
  of(lists: StateLists): EgressStructure {
    if (this.last !== null && sameInputs(this.last.inputs.raw, lists)) return this.last.structure;
    const gateways = this.gateways.update(lists.gateways);
    const nodes = this.nodes.update(lists.nodes);
    // Policies are checked where their fields are read, once per object (see `policy-facts.ts`).
    const policies = unguarded(lists.policies as readonly EgressPolicyLike[]);
    const clusterPolicies = unguarded(lists.clusterPolicies as readonly EgressPolicyLike[]);
    const labels = guardNamespaceLabels(lists.namespaceLabels);
    const guarded: StructureInput = {
      gateways: gateways.list,
      nodes: nodes.list,
      policies: policies.list,
      clusterPolicies: clusterPolicies.list,
      namespaceLabels: labels.value,
    };
    const inputProblems = [
      ...gateways.problems,
      ...nodes.problems,
      ...policies.problems,
      ...clusterPolicies.problems,
      ...labels.problems,
    ];
    const structure =
      (this.last !== null
        ? patchStructure(this.last.inputs.guarded, this.last.structure, guarded, inputProblems)
        : null) ?? buildStructure(guarded, inputProblems);
    this.last = {
      inputs: {
        // The guards' copies of the lists (the caller may reuse its arrays for the next state).
        raw: {
          gateways: gateways.raw,
          nodes: nodes.raw,
          policies: policies.raw,
          clusterPolicies: clusterPolicies.raw,
          namespaceLabels: lists.namespaceLabels,
        },
        guarded,
      },
      structure,
    };
    return structure;
  }
}

function buildStructure(state: StructureInput, inputProblems: readonly EgressEvent[]): EgressStructure {
  const gatewayProblems: EgressEvent[] = [];
  const policyProblems = new Map<string | null, EgressEvent[]>();
  const report = (p: EgressEvent, r?: ResolvedPolicy) => {
    if (r === undefined) gatewayProblems.push(p);
    else listOf(policyProblems, r.gateway).push(p);
  };
  const nodeIndex = new NodeIndex(state.nodes);
  const gateways = buildGateways(state.gateways, nodeIndex, report);
  const resolved = resolvePolicies(state, gateways, report);
  // Duplicates need no care: the ones ignored belong to no part, so a change to one rebuilds all.
  const separable = !gatewayProblems.some((p) => p.reason === 'PoolOverlap');
  const clusterAt = new Map<string | null, number[]>();
  const policyAt = new Map<string | null, number[]>();
  const byPart = new Map<string | null, ResolvedPolicy[]>();
  const clusterPart: Array<string | null | undefined> = new Array(state.clusterPolicies.length);
  const policyPart: Array<string | null | undefined> = new Array(state.policies.length);
  // Policies of one gateway usually come together: keep the last lists.
  let lastKey: string | null | undefined;
  let lastKind: ResolvedPolicy['kind'] | undefined;
  let at: number[] = [];
  let of: ResolvedPolicy[] = [];
  for (let i = 0; i < resolved.length; i++) {
    const r = resolved[i] as ResolvedPolicy;
    if (r.gateway !== lastKey || r.kind !== lastKind) {
      lastKey = r.gateway;
      lastKind = r.kind;
      at = listOf(r.kind === 'EgressPolicy' ? policyAt : clusterAt, r.gateway);
      of = listOf(byPart, r.gateway);
    }
    at.push(r.index);
    of.push(r);
    (r.kind === 'EgressPolicy' ? policyPart : clusterPart)[r.index] = r.gateway;
  }
  const parts = new Map<string | null, Part>();
  for (const key of [null, ...gateways.keys()]) {
    parts.set(
      key,
      partOf(
        key === null ? undefined : gateways.get(key),
        byPart.get(key) ?? [],
        policyProblems.get(key) ?? [],
        clusterAt.get(key) ?? [],
        policyAt.get(key) ?? [],
      ),
    );
  }
  const inputs = { clusterPart, policyPart, gatewayProblems, inputProblems, separable };
  return assemble(nodeIndex, gateways, parts, inputs, new Map(), '', null);
}

function listOf<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (list === undefined) {
    list = [];
    map.set(key, list);
  }
  return list;
}

/** One gateway's part (or the gateway-less part, for `gw` undefined) from its resolved policies. */
function partOf(
  gw: GatewayModel | undefined,
  resolved: readonly ResolvedPolicy[],
  problems: EgressEvent[],
  clusterAt: readonly number[],
  policyAt: readonly number[],
): Part {
  const units = new Map<string, ResolvedPolicy[]>();
  const unplaced: PolicyStatusChange[] = [];
  for (const r of resolved) {
    if (r.unit === null) {
      // Nothing to place: the status names no EIP and no node, whatever the heartbeats say.
      const f = r.facts;
      if (f.s4 !== '' || f.s6 !== '' || f.node !== '')
        unplaced.push(statusChange(r, { ipv4: '', ipv6: '' }, ''));
      continue;
    }
    const list = units.get(r.unit);
    if (list === undefined) units.set(r.unit, [r]);
    else list.push(r);
  }
  // Users in canonical order (messages and written statuses list them so); usually already so.
  for (const users of units.values()) if (users.length > 1) sortUsers(users);
  const events: EgressEvent[] = [];
  if (gw === undefined) return { clusterAt, policyAt, units, previous: [], events, problems, unplaced };
  const index = statusIndexOf(gw);
  for (const [unit, nodes] of index.duplicates) {
    events.push({
      type: 'Warning',
      reason: 'DuplicateOwner',
      message: `status lists EIP ${eipText(index.eips.get(unit) as EipPair)} on ${listed(nodes)}; keeping one`,
      involvedObject: { kind: 'EgressGateway', name: gw.name },
    });
  }
  // EIPs no policy uses any more are released (not placed), once each.
  let released: Set<string> | undefined;
  for (const p of index.placements) {
    if (units.has(p.address) || !isEipUnit(p.address)) continue;
    released ??= new Set();
    if (released.has(p.address)) continue;
    released.add(p.address);
    const eip = index.eips.get(p.address) as EipPair;
    events.push({
      type: 'Normal',
      reason: 'EIPReleased',
      message: `EIP ${eipText(eip)} released from ${p.member}: no policy uses it`,
      involvedObject: { kind: 'EgressGateway', name: gw.name },
      eip,
      from: p.member,
    });
  }
  return { clusterAt, policyAt, units, previous: index.placements, events, problems, unplaced };
}

/** Node names for a message: all of a few, the first ten of many (a hostile status may list thousands). */
function listed(nodes: readonly string[]): string {
  return nodes.length <= 10
    ? nodes.join(', ')
    : `${nodes.slice(0, 10).join(', ')} and ${nodes.length - 10} more nodes`;
}

/** The selected nodes' slots, readiness and gateways. */
function nodeSlots(
  nodeIndex: NodeIndex,
  gateways: ReadonlyMap<string, GatewayModel>,
): Pick<EgressStructure, 'selected' | 'slotOf' | 'candidateSlots' | 'gatewaysOf' | 'ready'> {
  const gatewaysOf = new Map<string, string[]>();
  const slotOf = new Map<string, number>();
  const candidateSlots = new Map<string, number[]>();
  for (const g of gateways.values()) {
    const slots: number[] = [];
    for (const n of g.candidates) {
      const list = gatewaysOf.get(n);
      if (list === undefined) {
        gatewaysOf.set(n, [g.name]);
        slotOf.set(n, slotOf.size);
      } else list.push(g.name);
      slots.push(slotOf.get(n) as number);
    }
    candidateSlots.set(g.name, slots);
  }
  const selected = [...slotOf.keys()];
  const ready = selected.map((name) => nodeReady(nodeIndex.node(name)));
  return { selected, slotOf, candidateSlots, gatewaysOf, ready };
}

/**
 * A structure from its parts and the lists every call returns as they are. `sameNodes`: a structure
 * with the same nodes and the same candidates per gateway, whose node slots are reused.
 */
function assemble(
  nodeIndex: NodeIndex,
  gateways: ReadonlyMap<string, GatewayModel>,
  parts: ReadonlyMap<string | null, Part>,
  fixed: Pick<
    EgressStructure,
    'clusterPart' | 'policyPart' | 'gatewayProblems' | 'inputProblems' | 'separable'
  >,
  outcomes: Map<string, GatewayOutcome>,
  outcomesKey: string,
  sameNodes: EgressStructure | null,
): EgressStructure {
  const nodes = sameNodes ?? nodeSlots(nodeIndex, gateways);
  const unitsByGateway = new Map<string, ReadonlyMap<string, ResolvedPolicy[]>>();
  const previous = new Map<string, readonly PreviousPlacement[]>();
  const events: EgressEvent[] = [];
  const problems: EgressEvent[] = [...fixed.gatewayProblems, ...fixed.inputProblems];
  const unplaced: PolicyStatusChange[] = [];
  for (const [key, part] of parts) {
    if (key !== null) {
      if (part.units.size > 0) unitsByGateway.set(key, part.units);
      previous.set(key, part.previous);
    }
    events.push(...part.events);
    problems.push(...part.problems);
    unplaced.push(...part.unplaced);
  }
  return {
    nodeIndex,
    gateways,
    unitsByGateway,
    previous,
    selected: nodes.selected,
    slotOf: nodes.slotOf,
    candidateSlots: nodes.candidateSlots,
    gatewaysOf: nodes.gatewaysOf,
    ready: nodes.ready,
    events,
    problems,
    policies: unplaced,
    outcomes,
    outcomesKey,
    parts,
    clusterPart: fixed.clusterPart,
    policyPart: fixed.policyPart,
    gatewayProblems: fixed.gatewayProblems,
    inputProblems: fixed.inputProblems,
    separable: fixed.separable,
  };
}

let unreadable = 0;

/** The fields of a policy or gateway the engine reads besides its status, as text. */
function specText(o: EgressPolicyLike | EgressGatewayLike): string {
  try {
    return JSON.stringify([o.metadata?.name, o.metadata?.namespace, o.spec]);
  } catch {
    // Not JSON (a cycle, a bigint: no API object is like that): never equal, so the structure is rebuilt.
    return `\u0000${++unreadable}`;
  }
}

/**
 * The structure of `state` derived from the previous one when only statuses of policies and
 * gateways were replaced (what the controller's own writes do): only the gateways they belong to are
 * resolved again. `null` when anything else changed, or when gateways do not resolve independently.
 */
function patchStructure(
  prev: StructureInput,
  s: EgressStructure,
  state: StructureInput,
  inputProblems: readonly EgressEvent[],
): EgressStructure | null {
  if (
    !s.separable ||
    !sameItems(prev.nodes, state.nodes) ||
    !sameLabels(prev.namespaceLabels, state.namespaceLabels) ||
    prev.gateways.length !== state.gateways.length ||
    prev.policies.length !== state.policies.length ||
    prev.clusterPolicies.length !== state.clusterPolicies.length
  )
    return null;
  // Resolving a quarter of the gateways again costs about what a full build does; a relist replaces
  // every object, which a pointer comparison finds before any spec is compared.
  const limit = 1 + s.gateways.size / 4;
  if (countChanged(prev.gateways, state.gateways) > limit) return null;
  const policies = state.policies.length + state.clusterPolicies.length;
  const changed =
    countChanged(prev.policies, state.policies) + countChanged(prev.clusterPolicies, state.clusterPolicies);
  if (changed > 16 + policies / 4) return null;
  const dirty = new Set<string | null>();
  const models = new Map(s.gateways);
  for (let i = 0; i < state.gateways.length; i++) {
    const before = prev.gateways[i] as EgressGatewayLike;
    const after = state.gateways[i] as EgressGatewayLike;
    if (before === after) continue;
    const model = s.gateways.get(nameOf(after));
    if (model === undefined || model.gateway !== before || specText(before) !== specText(after)) return null;
    // Same spec and nodes: same pools and candidates; only the written status is new.
    models.set(model.name, { ...model, gateway: after });
    dirty.add(model.name);
  }
  const changedPolicies = (
    before: readonly unknown[],
    after: readonly EgressPolicyLike[],
    partAt: ReadonlyArray<string | null | undefined>,
  ) => {
    for (let i = 0; i < after.length; i++) {
      const a = before[i] as EgressPolicyLike;
      const b = after[i] as EgressPolicyLike;
      if (a === b) continue;
      // A changed input that resolved to nothing (a duplicate) might now win: build anew.
      const key = partAt[i];
      if (key === undefined || specText(a) !== specText(b)) return false;
      dirty.add(key);
      if (dirty.size > limit) return false;
    }
    return true;
  };
  if (!changedPolicies(prev.clusterPolicies, state.clusterPolicies, s.clusterPart)) return null;
  if (!changedPolicies(prev.policies, state.policies, s.policyPart)) return null;
  if (dirty.size > limit) return null;

  const parts = new Map(s.parts);
  for (const key of dirty) {
    const part = s.parts.get(key) as Part;
    const problems: EgressEvent[] = [];
    const resolved = resolvePolicies(
      {
        ...state,
        clusterPolicies: part.clusterAt.map((i) => state.clusterPolicies[i] as EgressPolicyLike),
        policies: part.policyAt.map((i) => state.policies[i] as EgressPolicyLike),
      },
      models,
      (p) => problems.push(p),
    );
    const gw = key === null ? undefined : models.get(key);
    parts.set(key, partOf(gw, resolved, problems, part.clusterAt, part.policyAt));
  }
  const outcomes = new Map(s.outcomes);
  for (const key of dirty) if (key !== null) outcomes.delete(key);
  return assemble(s.nodeIndex, models, parts, { ...s, inputProblems }, outcomes, s.outcomesKey, s);
}

function countChanged(before: readonly unknown[], after: readonly unknown[]): number {
  let n = 0;
  for (let i = 0; i < after.length; i++) if (before[i] !== after[i]) n++;
  return n;
}

/** A policy status change, shaped by kind (cluster policies have no namespace). */
export function statusChange(r: ResolvedPolicy, eip: EipPair, node: string): PolicyStatusChange {
  const status = { eip: { ipv4: eip.ipv4, ipv6: eip.ipv6 }, node };
  return r.kind === 'EgressPolicy'
    ? { kind: r.kind, namespace: r.namespace, name: r.name, status }
    : { kind: r.kind, name: r.name, status };
}
