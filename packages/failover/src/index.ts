/**
 * `@egressgateway/failover`: a pure, synchronous failover decision engine for egress IPs.
 *
 * Two layers: a generic core ({@link assessHeartbeats}, {@link placeAddresses}) that any operator keeping
 * addresses on members of a group can use, and the egress adapter ({@link reconcileEgress}) that maps
 * EgressGateway / EgressTunnel / Node / EgressPolicy objects onto it and returns only changes.
 * No timers, no clock reads, no I/O: time is an argument.
 *
 * @packageDocumentation
 */

export { applyEgressChanges } from './apply-changes.js';
export { NAMESPACE_DEFAULT_GATEWAY_LABEL } from './egress-policies.js';
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
  GatewayNodeLike,
  GatewayNodeStatus,
  GatewayStatusChange,
  NodeLike,
  ObjectMetaLike,
  PolicyRefLike,
  PolicyStatusChange,
  TunnelObservation,
  TunnelPhase,
  TunnelPhaseChange,
} from './egress-types.js';
export {
  assessHeartbeats,
  type HealthReason,
  type HeartbeatAssessment,
  type HeartbeatMember,
  type HeartbeatOptions,
  type HeartbeatState,
  type MemberHealth,
} from './heartbeat.js';
export { canonicalIp, formatIp, type IpFamily, type ParsedIp, parseIp } from './ip.js';
export {
  type CompiledSelector,
  compileSelector,
  type LabelSelectorLike,
  type LabelSelectorRequirementLike,
} from './label-selector.js';
export {
  type AddressGroup,
  type HealthLookup,
  type PlacementChange,
  type PlacementDecision,
  type PlacementOptions,
  type PlacementResult,
  type PreviousPlacement,
  placeAddresses,
} from './placement.js';
export { AddressPool, type PoolEntryProblem, type PoolSegment } from './pool.js';
export { createEgressReconciler, type EgressReconciler, reconcileEgress } from './reconcile-egress.js';
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
