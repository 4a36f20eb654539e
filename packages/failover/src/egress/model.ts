// The egress adapter's own vocabulary: what every stage of a reconcile passes to the next (gateway and
// pool models, resolved EIPs and policies, placement units, claim stages, the problem sink). It
// imports no other module of the adapter, so the stages form a one-way chain:
//   model <- gateways <- status-index <- claims, policy-facts <- policies <- structure <- outcome <- reconcile
import type { AddressPool } from '../pool.js';
import type { EgressEvent, EgressGatewayLike, EipPair } from './types.js';

/** The two policy kinds. A cluster policy has the empty namespace wherever a namespace is keyed. */
export type PolicyKind = 'EgressPolicy' | 'EgressClusterPolicy';

/** Placement unit of an EIP pair: `eip:<ipv4>|<ipv6>` in canonical text (either side may be empty). */
export type EipUnit = `eip:${string}|${string}`;
/** Placement unit of a useNodeIP policy: `node:<kind>/<namespace>/<name>` (it is placed on its own). */
export type NodeUnit = `node:${PolicyKind}/${string}/${string}`;
/** What the placement core places on a node for the egress adapter. */
export type PlacementUnit = EipUnit | NodeUnit;

/** The unit of an EIP pair. */
export function eipUnit(eip: EipPair): EipUnit {
  return `eip:${eip.ipv4}|${eip.ipv6}`;
}

/** The unit of a useNodeIP policy. */
export function nodeUnit(kind: PolicyKind, namespace: string, name: string): NodeUnit {
  return `node:${kind}/${namespace}/${name}`;
}

/** Whether a unit is an EIP pair (else a useNodeIP policy). */
export function isEipUnit(unit: string): unit is EipUnit {
  return unit.startsWith('eip:');
}

/** The EIP pair an {@link EipUnit} names. */
export function unitPair(unit: EipUnit | string): EipPair {
  const [ipv4 = '', ipv6 = ''] = unit.slice(4).split('|');
  return { ipv4, ipv6 };
}

/** The policy key a {@link NodeUnit} names (`<kind>/<namespace>/<name>`), for messages. */
export function unitPolicy(unit: NodeUnit | string): string {
  return unit.slice(5);
}

/** An EIP pair in canonical text with its placement unit, computed once. */
export interface ResolvedEip extends EipPair {
  readonly unit: EipUnit;
}

/** Why an address pair cannot be used, with a message for the problem that reports it. */
export interface PairRefusal {
  /** `NotInPool`: an address is outside its pool; `NotUsable`: unspecified, network or broadcast address. */
  readonly refusal: 'NotInPool' | 'NotUsable';
  readonly message: string;
}

/** Whether a pair lookup found a usable pair. */
export function isResolved(found: ResolvedEip | PairRefusal): found is ResolvedEip {
  return (found as PairRefusal).refusal === undefined;
}

/**
 * A gateway's parsed pools, default EIP and pair memo: a deterministic function of `spec.ippools`,
 * memoised per `ippools` object so that an unchanged gateway (the same object in an informer cache) is
 * not parsed again on every reconcile.
 */
export interface PoolModel {
  readonly name: string;
  readonly v4: AddressPool;
  readonly v6: AddressPool;
  /** Number of pool positions: the n-th IPv4 pairs with the n-th IPv6; the longer pool decides. */
  readonly eipCount: bigint;
  /**
   * Addresses that are in a pool but never handed out, with the reason: the unspecified address and,
   * for CIDR entries, the network address (and for IPv4 prefixes up to /30 the broadcast address).
   */
  readonly reserved: ReadonlyMap<string, string>;
  /** Pool positions whose pair holds a reserved address. */
  readonly reservedPositions: ReadonlySet<bigint>;
  /** The default EIP pair, or `null` when no position is usable. */
  readonly defaultEip: ResolvedEip | null;
  /**
   * Memo of pair resolution (ipv4 -> ipv6 -> result): thousands of policies and status entries name the
   * same EIPs, and nested maps keyed by the original strings avoid building a key per lookup.
   */
  readonly pairCache: Map<string, Map<string, ResolvedEip | PairRefusal>>;
  /** Memo of unit -> pool positions (ipv4, ipv6; `-1n` for none), for ordering status entries. */
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

/** Collects level-triggered problems (with the policy a problem is about, when it is about one). */
export type ProblemSink = (problem: EgressEvent, policy?: ResolvedPolicy) => void;

/**
 * When a policy's wanted pair is claimed: `keep` (it already has the pair, so it is settled before any
 * other), `fresh` (it takes a pair it does not have yet), or `none` (nothing to claim).
 */
export type ClaimStage = 'none' | 'keep' | 'fresh';

/**
 * The fields of a policy the engine reads, flattened once per policy object, plus memos of lookups that
 * are deterministic functions of these facts and one immutable object (see `policy-facts.ts`).
 */
export interface PolicyFacts {
  /** `''` when the policy has none (or one that is not a string): it is then ignored. */
  readonly name: string;
  readonly namespace: string;
  /** Set when `metadata.namespace` is not a string: a namespaced policy is then ignored. */
  readonly namespaceDefect: string | null;
  /** Fields of the wrong type (reported as `InvalidInput`), each a message naming the field. */
  readonly defects: readonly string[];
  readonly gatewayName: string;
  readonly ipv4: string;
  readonly ipv6: string;
  readonly useNodeIP: boolean;
  readonly allocator: string;
  /** Written `status.eip` and `status.node`. */
  readonly s4: string;
  readonly s6: string;
  readonly node: string;
  /**
   * `pairOf` is the pair cache of the pool model the explicit pair was resolved in (`pair`), `statusOf`
   * the gateway status index (and `statusNs` the namespace looked up, `''` for cluster policies) that
   * `written` was read from. A hit needs the very same object, so a changed pool or status is simply
   * looked up again: the memo never changes a result.
   */
  pairOf: object | null;
  pair: ResolvedEip | PairRefusal | null;
  statusOf: object | null;
  statusNs: string;
  written: EipPair | undefined;
  /** Memo of the sticky pair: pool pair cache and written pair it was resolved for, and the result. */
  stickyOf: object | null;
  stickyFrom: EipPair | undefined;
  sticky: ResolvedEip | null;
}

/** A policy after gateway and EIP resolution. */
export interface ResolvedPolicy {
  readonly kind: PolicyKind;
  /** `''` for EgressClusterPolicy. */
  readonly namespace: string;
  readonly name: string;
  /** Position of the policy in the list it came from (`clusterPolicies` or `policies`). */
  readonly index: number;
  /** The policy's fields (`facts.useNodeIP` says whether it egresses through its node's IP). */
  readonly facts: PolicyFacts;
  gateway: string | null;
  /** Placement unit; `null` when unresolvable. */
  unit: PlacementUnit | null;
  eip: ResolvedEip | null;
  /** Internal: the gateway model and the pair asked for while claims are settled. */
  model: GatewayModel | null;
  want: ResolvedEip | null;
  stage: ClaimStage;
  /** The node the unit is placed on, set after placement (`null`: none). */
  member: string | null;
  /**
   * The policy's written `status.node`, and the pair its written `status.eip` was found equal to while
   * resolving (`null`: not compared or not equal), so that an unchanged status is recognised later
   * without reading the policy's fields again.
   */
  readonly statusNode: string;
  statusEip: ResolvedEip | null;
}

/** Stable policy key; the namespace is empty for cluster policies, as in the gateway status. */
export function policyKey(kind: PolicyKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** Key of a resolved policy, for messages. */
export function keyOf(r: ResolvedPolicy): string {
  return policyKey(r.kind, r.namespace, r.name);
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The canonical policy order: kind (cluster policies first), namespace, name. Every result that depends
 * on the order of policies (which claim wins a conflict, which policy gets which `rr` EIP, the order of
 * policy lists in messages and statuses) follows it, so input order never matters.
 */
export function comparePolicies(a: ResolvedPolicy, b: ResolvedPolicy): number {
  // Equal kinds and namespaces are the common case: one equality test each instead of two orderings.
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return cmp(a.name, b.name);
}

/** The Warning problem of a policy, involving the policy object. */
export function policyProblem(r: ResolvedPolicy, reason: string, message: string): EgressEvent {
  const involvedObject: EgressEvent['involvedObject'] =
    r.kind === 'EgressPolicy'
      ? { kind: r.kind, name: r.name, namespace: r.namespace }
      : { kind: r.kind, name: r.name };
  return { type: 'Warning', reason, message, involvedObject };
}
