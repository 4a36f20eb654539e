// The part of a reconcile that does not depend on time or heartbeats: gateway models, policy
// resolution, the written placements. Between two status writes only heartbeats change, so this is
// built once and reused by every reconcile until an object other than a tunnel is replaced.
import { eipText } from './egress-events.js';
import { buildGateways, type GatewayModel, NodeIndex } from './egress-gateways.js';
import { comparePolicies, type ResolvedPolicy, resolvePolicies } from './egress-policies.js';
import type {
  EgressEvent,
  EgressState,
  EipPair,
  GatewayStatusChange,
  NodeLike,
  PolicyStatusChange,
} from './egress-types.js';
import type { PreviousPlacement } from './placement.js';
import { statusIndexOf } from './status-index.js';

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
  /** The settings `outcomes` were computed with (`''` before the first). */
  outcomesKey: string;
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

/** The inputs a structure was built from, copied (a caller may reuse an array for the next state). */
interface Inputs {
  readonly gateways: readonly unknown[];
  readonly nodes: readonly unknown[];
  readonly policies: readonly unknown[];
  readonly clusterPolicies: readonly unknown[];
  readonly namespaceLabels: EgressState['namespaceLabels'];
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameLabels(a: EgressState['namespaceLabels'], b: EgressState['namespaceLabels']): boolean {
  if (a === b) return true;
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  for (const ns of ka) {
    const la = a?.[ns];
    const lb = b?.[ns];
    if (la === lb) continue;
    if (la === undefined || lb === undefined) return false;
    const keys = Object.keys(la);
    if (keys.length !== Object.keys(lb).length) return false;
    for (const k of keys) if (la[k] !== lb[k] || !Object.hasOwn(lb, k)) return false;
  }
  return true;
}

function sameInputs(i: Inputs, state: EgressState): boolean {
  return (
    sameItems(i.gateways, state.gateways) &&
    sameItems(i.nodes, state.nodes) &&
    sameItems(i.policies, state.policies) &&
    sameItems(i.clusterPolicies, state.clusterPolicies) &&
    sameLabels(i.namespaceLabels, state.namespaceLabels)
  );
}

/**
 * Keeps the structure of the last state it was asked for. One is kept, so a caller alternating
 * between unrelated states only loses speed.
 */
export class StructureCache {
  private last: { inputs: Inputs; structure: EgressStructure } | null = null;

  /**
   * The structure of `state`: the one of the previous call when gateways, nodes, policies and
   * namespace labels are the very same objects as then (only tunnels or time differ), else a new one.
   */
  of(state: EgressState): EgressStructure {
    if (this.last !== null && sameInputs(this.last.inputs, state)) return this.last.structure;
    const structure = buildStructure(state);
    this.last = {
      inputs: {
        gateways: [...state.gateways],
        nodes: [...state.nodes],
        policies: [...state.policies],
        clusterPolicies: [...state.clusterPolicies],
        namespaceLabels: state.namespaceLabels,
      },
      structure,
    };
    return structure;
  }
}

function buildStructure(state: EgressState): EgressStructure {
  const problems: EgressEvent[] = [];
  const events: EgressEvent[] = [];
  const report = (p: EgressEvent) => problems.push(p);
  const nodeIndex = new NodeIndex(state.nodes);
  const gateways = buildGateways(state.gateways, nodeIndex, report);
  const policies = resolvePolicies(state, gateways, report);

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

  // Per gateway: unit -> its users. Policies of one gateway usually come together: keep the last map.
  const unitsByGateway = new Map<string, Map<string, ResolvedPolicy[]>>();
  const unplaced: PolicyStatusChange[] = [];
  let lastGateway: string | null = null;
  let lastUnits = new Map<string, ResolvedPolicy[]>();
  for (const r of policies) {
    if (r.gateway === null || r.unit === null) {
      // Nothing to place: the status names no EIP and no node, whatever the heartbeats say.
      const f = r.facts;
      if (f.s4 !== '' || f.s6 !== '' || f.node !== '')
        unplaced.push(statusChange(r, { ipv4: '', ipv6: '' }, ''));
      continue;
    }
    if (r.gateway !== lastGateway) {
      lastGateway = r.gateway;
      let units = unitsByGateway.get(r.gateway);
      if (units === undefined) {
        units = new Map();
        unitsByGateway.set(r.gateway, units);
      }
      lastUnits = units;
    }
    const list = lastUnits.get(r.unit);
    if (list === undefined) lastUnits.set(r.unit, [r]);
    else list.push(r);
  }
  // Users in canonical order (messages and written statuses list them so); usually already so.
  for (const units of unitsByGateway.values()) {
    for (const users of units.values()) if (users.length > 1) sortUsers(users);
  }

  const previous = new Map<string, readonly PreviousPlacement[]>();
  for (const gw of gateways.values()) {
    const index = statusIndexOf(gw);
    previous.set(gw.name, index.placements);
    for (const [unit, nodes] of index.duplicates) {
      events.push({
        type: 'Warning',
        reason: 'DuplicateOwner',
        message: `status lists EIP ${eipText(index.eips.get(unit) as EipPair)} on ${nodes.join(', ')}; keeping one`,
        involvedObject: { kind: 'EgressGateway', name: gw.name },
      });
    }
    // EIPs no policy uses any more are released (not placed), once each.
    const units = unitsByGateway.get(gw.name);
    let released: Set<string> | undefined;
    for (const p of index.placements) {
      if (units?.has(p.address) === true || !p.address.startsWith('eip:')) continue;
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
  }
  return {
    nodeIndex,
    gateways,
    unitsByGateway,
    previous,
    selected,
    slotOf,
    candidateSlots,
    gatewaysOf,
    ready,
    events,
    problems,
    policies: unplaced,
    outcomes: new Map(),
    outcomesKey: '',
  };
}

/** A policy status change, shaped by kind (cluster policies have no namespace). */
export function statusChange(r: ResolvedPolicy, eip: EipPair, node: string): PolicyStatusChange {
  const status = { eip: { ipv4: eip.ipv4, ipv6: eip.ipv6 }, node };
  return r.kind === 'EgressPolicy'
    ? { kind: r.kind, namespace: r.namespace, name: r.name, status }
    : { kind: r.kind, name: r.name, status };
}
