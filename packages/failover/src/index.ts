/**
 * `@egressgateway/failover`: a deterministic, synchronous failover decision engine for egress IPs.
 *
 * Two layers, one folder each: a generic core (`src/core`: {@link assessHeartbeats},
 * {@link placeAddresses}, pure functions) that any operator keeping addresses on members of a group can
 * use, and the egress adapter (`src/egress`: {@link reconcileEgress}) that maps EgressGateway /
 * EgressTunnel / Node / EgressPolicy objects onto it and returns only changes. The adapter is
 * deterministic and memoised (it keeps what it derived from objects it has seen, which never changes a
 * result). No timers, no clock reads, no I/O: time is an argument.
 *
 * @packageDocumentation
 */

export { EgressConfigError, MIN_EVICTION_TIMEOUT_MS } from './config-error.js';
export {
  assessHeartbeats,
  type HealthReason,
  type HeartbeatAssessment,
  type HeartbeatMember,
  type HeartbeatOptions,
  type HeartbeatState,
  type MemberHealth,
} from './core/heartbeat.js';
export {
  type AddressClaim,
  type AddressGroup,
  type ClaimVerdict,
  type HealthLookup,
  type PlacementChange,
  type PlacementDecision,
  type PlacementOptions,
  type PlacementResult,
  type PreviousPlacement,
  placeAddresses,
} from './core/placement.js';
export { applyEgressChanges } from './egress/apply-changes.js';
export { NAMESPACE_DEFAULT_GATEWAY_LABEL } from './egress/policies.js';
export { createEgressReconciler, type EgressReconciler, reconcileEgress } from './egress/reconcile.js';
export type {
  EgressChanges,
  EgressClusterPolicyLike,
  EgressConfig,
  EgressEvent,
  EgressGatewayLike,
  EgressIPSpecLike,
  EgressKind,
  EgressPolicyLike,
  EgressPolicyStatusLike,
  EgressState,
  EgressTunnelLike,
  EipPair,
  GatewayEipLike,
  GatewayIpUsage,
  GatewayNodeLike,
  GatewayNodeStatus,
  GatewayStatusChange,
  NodeLike,
  ObjectMetaLike,
  PeerClaimLike,
  PeerClaimVerdict,
  PolicyRefLike,
  PolicyStatusChange,
  TunnelObservation,
  TunnelPhase,
  TunnelPhaseChange,
} from './egress/types.js';
export { type EgressWrite, egressWrites } from './egress/write-order.js';
export type { LabelSelectorLike, LabelSelectorRequirementLike } from './label-selector.js';
export {
  DEFAULT_EIP_EVICTION_TIMEOUT_S,
  DEFAULT_TIMING,
  DEFAULT_TUNNEL_MONITOR_PERIOD_S,
  DEFAULT_TUNNEL_UPDATE_PERIOD_S,
  SEED_TIMING,
  type TimingSettings,
  type TimingWarning,
  type TimingWarningCode,
  type ValidateTimingOptions,
  validateTiming,
} from './timing.js';
