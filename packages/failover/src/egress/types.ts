import type { LabelSelectorLike } from '../label-selector.js';

/**
 * Structural input types, shaped like the `egressgateway.spidernet.io/v1beta1` objects as parsed
 * JSON, so real objects (from an informer cache or `kubectl get -o json`) are assignable. Only the
 * fields the engine reads are listed; all are optional where the API allows them to be missing.
 */

/** `metadata` as far as the engine reads it (optional, as in the CRD schemas; objects without a name are ignored). */
export interface ObjectMetaLike {
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** Read only to judge {@link PeerClaimLike.statusVersion}. */
  readonly resourceVersion?: string | undefined;
}

/** A policy reference in `EgressGateway.status.nodeList[].eips[].policies[]` (empty namespace: cluster policy). */
export interface PolicyRefLike {
  readonly name: string;
  readonly namespace?: string | undefined;
}

/** An EIP entry of a gateway node (both addresses empty: the node's useNodeIP policies). */
export interface GatewayEipLike {
  readonly ipv4?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly policies?: readonly PolicyRefLike[] | undefined;
}

/** One node in `EgressGateway.status.nodeList`. */
export interface GatewayNodeLike {
  readonly name: string;
  readonly status?: string | undefined;
  readonly eips?: readonly GatewayEipLike[] | undefined;
}

/** EgressGateway (cluster scoped). */
export interface EgressGatewayLike {
  readonly metadata?: ObjectMetaLike | undefined;
  readonly spec?:
    | {
        readonly ippools?:
          | {
              readonly ipv4?: readonly string[] | undefined;
              readonly ipv6?: readonly string[] | undefined;
              readonly ipv4DefaultEIP?: string | undefined;
              readonly ipv6DefaultEIP?: string | undefined;
            }
          | undefined;
        readonly nodeSelector?: { readonly selector?: LabelSelectorLike | undefined } | undefined;
        readonly clusterDefault?: boolean | undefined;
      }
    | undefined;
  readonly status?:
    | {
        readonly nodeList?: readonly GatewayNodeLike[] | undefined;
        readonly ipUsage?: Partial<GatewayIpUsage> | undefined;
      }
    | undefined;
}

/**
 * `EgressGateway.status.ipUsage`: distinct addresses of each pool and how many of them no placed EIP
 * uses (counts above `Number.MAX_SAFE_INTEGER`, a huge IPv6 pool, are clamped to it).
 */
export interface GatewayIpUsage {
  ipv4Total: number;
  ipv4Free: number;
  ipv6Total: number;
  ipv6Free: number;
}

/** EgressTunnel phases (the CRD enum). */
export type TunnelPhase = 'Pending' | 'Init' | 'Failed' | 'Ready' | 'HeartbeatTimeout' | 'NodeNotReady';

/** EgressTunnel (cluster scoped, name = node name). */
export interface EgressTunnelLike {
  readonly metadata?: ObjectMetaLike | undefined;
  readonly status?:
    | {
        readonly lastHeartbeatTime?: string | undefined;
        readonly mark?: string | undefined;
        readonly phase?: string | undefined;
        readonly tunnel?:
          | {
              readonly mac?: string | undefined;
              readonly ipv4?: string | undefined;
              readonly ipv6?: string | undefined;
              readonly parent?:
                | {
                    readonly name?: string | undefined;
                    readonly ipv4?: string | undefined;
                    readonly ipv6?: string | undefined;
                  }
                | undefined;
            }
          | undefined;
      }
    | undefined;
}

/**
 * A tunnel as the controller observed it. `observedAt` is the controller's local time (ms) at which
 * it first saw the tunnel's current `lastHeartbeatTime` value (a new leader uses the instant it first
 * listed the tunnel), `null` when the tunnel has never heartbeated.
 *
 * `draining: true` is the planned handover: the node's agent is shutting down, so its EIPs move now
 * (without waiting for eviction) and nothing new is placed on it. How the agent signals it (an
 * annotation, a condition) is up to the controller, which sets this flag.
 */
export interface TunnelObservation {
  readonly tunnel: EgressTunnelLike;
  readonly observedAt: number | null;
  readonly draining?: boolean | undefined;
}

/** A Node as far as the engine reads it. */
export interface NodeLike {
  readonly metadata?: ObjectMetaLike | undefined;
  readonly status?:
    | {
        readonly conditions?: ReadonlyArray<{ readonly type: string; readonly status: string }> | undefined;
        readonly addresses?: ReadonlyArray<{ readonly type: string; readonly address: string }> | undefined;
      }
    | undefined;
}

/** `spec.egressIP` of a policy. */
export interface EgressIPSpecLike {
  readonly ipv4?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly useNodeIP?: boolean | undefined;
  readonly allocatorPolicy?: string | undefined;
}

/** `status` of a policy: the EIP it uses and the node it leaves through. */
export interface EgressPolicyStatusLike {
  readonly eip?: { readonly ipv4?: string | undefined; readonly ipv6?: string | undefined } | undefined;
  readonly node?: string | undefined;
}

/** EgressPolicy (namespaced). */
export interface EgressPolicyLike {
  readonly metadata?: ObjectMetaLike | undefined;
  readonly spec?:
    | {
        readonly egressGatewayName?: string | undefined;
        readonly egressIP?: EgressIPSpecLike | undefined;
        readonly appliedTo?: unknown;
        readonly destSubnet?: readonly string[] | undefined;
      }
    | undefined;
  readonly status?: EgressPolicyStatusLike | undefined;
}

/** EgressClusterPolicy (cluster scoped; `appliedTo` may add a namespaceSelector). */
export type EgressClusterPolicyLike = EgressPolicyLike;

/** Everything the engine looks at. */
export interface EgressState {
  readonly gateways: readonly EgressGatewayLike[];
  readonly tunnels: readonly TunnelObservation[];
  readonly nodes: readonly NodeLike[];
  readonly policies: readonly EgressPolicyLike[];
  readonly clusterPolicies: readonly EgressClusterPolicyLike[];
  /**
   * Labels per namespace name, only needed for `spidernet.io/egressgateway-default` (a namespace's
   * default gateway for policies without `egressGatewayName`).
   */
  readonly namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined;
  /**
   * Take-overs the gateway peers made (our extension; the controller reads them from the
   * `egressgateway.spidernet.io/peer-claims` annotation of each claimant's EgressTunnel). A claim
   * moves its EIP to the claimant at once, without waiting for the old holder's eviction, if and only
   * if the gateway status places the EIP on `from` now and the claimant is a selected, healthy node of
   * the gateway (a node the engine could place the EIP on). Each claim gets a verdict in
   * {@link EgressChanges.peerClaims}.
   */
  readonly peerClaims?: readonly PeerClaimLike[] | undefined;
}

/** One take-over the gateway peers made (see {@link EgressState.peerClaims}). */
export interface PeerClaimLike {
  /** The claimant: the node that answers for the EIP now. */
  readonly node: string;
  readonly gateway: string;
  /** The EIP pair as the gateway status lists it (`""` for a missing family). */
  readonly ipv4: string;
  readonly ipv6: string;
  /** The node the status placed the EIP on when the claimant took over. */
  readonly from: string;
  /**
   * `metadata.resourceVersion` of the gateway the claimant saw when it claimed. When given, the claim
   * is stale unless the gateway is still that version: a claim about an older status (say, the status
   * moved away from the claimant and back) is never followed. Compared for equality only.
   */
  readonly statusVersion?: string | undefined;
}

/**
 * What the engine made of one claim: `followed` (the EIP moves to the claimant in this call's
 * gateway change), `recorded` (the status already names the claimant: the claim can be cleared),
 * `stale` (the status names another node than `from`, or the gateway is no longer the version the claimant saw), `ineligible` (the claimant is not a
 * selected, healthy node of the gateway), `contested` (another acceptable claim names the EIP:
 * neither is followed), `unknown` (no such gateway or EIP in use).
 */
export interface PeerClaimVerdict {
  readonly claim: PeerClaimLike;
  readonly verdict: 'followed' | 'recorded' | 'stale' | 'ineligible' | 'contested' | 'unknown';
}

/**
 * Settings of {@link reconcileEgress}. Checked on every call: a wrong value throws
 * {@link EgressConfigError} naming the field.
 */
export interface EgressConfig {
  /**
   * Eviction timeout in ms (`eipEvictionTimeout` x 1000): a finite number of at least 100 (a smaller
   * value looks like seconds and is refused).
   */
  readonly evictionTimeoutMs: number;
  /**
   * Off (default): sticky, an EIP on a healthy node never moves and a recovered node gets nothing back.
   * On: EIPs also move between healthy nodes until loads differ by at most one.
   */
  readonly rebalance?: boolean | undefined;
  /** A Node whose Ready condition is False/Unknown counts as unhealthy. Default true. */
  readonly nodeNotReadyEvicts?: boolean | undefined;
}

/** Kind of an involved object or policy. */
export type EgressKind = 'EgressGateway' | 'EgressTunnel' | 'EgressPolicy' | 'EgressClusterPolicy' | 'Node';

/** An EIP pair (either address may be empty). */
export interface EipPair {
  readonly ipv4: string;
  readonly ipv6: string;
}

/** A tunnel phase to write to `EgressTunnel.status.phase`. */
export interface TunnelPhaseChange {
  readonly name: string;
  readonly phase: TunnelPhase;
  /** Why (`HeartbeatTimeout`, `HeartbeatRecovered`, `NodeNotReady`), for logs and events. */
  readonly reason: string;
  /**
   * For an eviction (`phase: 'HeartbeatTimeout'`): how many ms after the heartbeat's deadline
   * (`observedAt + evictionTimeoutMs`) the call that decided it ran, i.e. the detection delay to
   * log and measure. Absent for the other phases.
   */
  readonly overdueMs?: number;
}

/**
 * A complete new `EgressGateway.status.nodeList` and `status.ipUsage` (computed from the pools the
 * engine parsed and the EIPs of the new list), written together; emitted when either differs from
 * the written status.
 */
export interface GatewayStatusChange {
  readonly name: string;
  readonly nodeList: GatewayNodeStatus[];
  readonly ipUsage: GatewayIpUsage;
}

/** One node entry the engine writes. */
export interface GatewayNodeStatus {
  name: string;
  status: string;
  eips?: Array<{ ipv4: string; ipv6: string; policies: Array<{ name: string; namespace: string }> }>;
}

/** A new policy `status`. `namespace` is absent for EgressClusterPolicy. */
export interface PolicyStatusChange {
  readonly kind: 'EgressPolicy' | 'EgressClusterPolicy';
  readonly namespace?: string;
  readonly name: string;
  readonly status: { eip: EipPair; node: string };
}

/** A Kubernetes event to emit (and log). */
export interface EgressEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  readonly involvedObject: { readonly kind: EgressKind; readonly name: string; readonly namespace?: string };
  readonly eip?: EipPair;
  readonly from?: string;
  readonly to?: string;
  /**
   * The gateway a policy's problem concerns, when that is part of the judgement (set on
   * `PoolShared`, so a metric can count per gateway without reading the message).
   */
  readonly gateway?: string;
}

/**
 * Result of {@link reconcileEgress}: only what differs from the input, plus level-triggered problems.
 *
 * **Write order** (what keeps failover safe; {@link egressWrites} lists the writes in it):
 * 1. `tunnels` with phase `HeartbeatTimeout` (evictions) first, each with the resourceVersion of the
 *    tunnel object the decision saw as precondition. If one fails (a heartbeat landed meanwhile),
 *    write nothing else of this decision and reconcile again.
 * 2. The other `tunnels` phases (any time after step 1).
 * 3. `gateways` (the complete `status.nodeList`: the one source of truth agents bind from).
 * 4. `policies` (derived from the gateway status), only after their gateways are written.
 *
 * Any write that fails needs no undo: the next reconcile returns what is left.
 */
export interface EgressChanges {
  /** Tunnel phases to write: evictions (`HeartbeatTimeout`) first and under a precondition. */
  readonly tunnels: TunnelPhaseChange[];
  /** Complete new `status.nodeList`s, written after every eviction of this decision succeeded. */
  readonly gateways: GatewayStatusChange[];
  /** Policy statuses, written after the gateway statuses. */
  readonly policies: PolicyStatusChange[];
  /** Transitions only (assigned, moved, released, lost, phase changes): empty when nothing changed. */
  readonly events: EgressEvent[];
  /**
   * Input problems that hold right now (EIP outside pool, default EIP missing, unknown gateway, no
   * selected node, overlapping pools, EIP unassignable...). Level-triggered: the full list on every
   * call, sorted; emit them as Warning events or conditions when they first appear.
   */
  readonly problems: EgressEvent[];
  /** The earliest instant (ms) at which the result can change with no new input, or `null`. */
  readonly nextWakeAt: number | null;
  /** One verdict per well-formed {@link EgressState.peerClaims} entry, in input order. */
  readonly peerClaims: PeerClaimVerdict[];
}

/** `metadata.name` of an object, or `''` when it has none (or one that is not a string). */
export function nameOf(obj: { readonly metadata?: ObjectMetaLike | undefined } | null | undefined): string {
  const name = obj?.metadata?.name;
  return typeof name === 'string' ? name : '';
}
