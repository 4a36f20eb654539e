/**
 * `@egressgateway/crds`: the `egressgateway.spidernet.io/v1beta1` kinds as TypeScript types,
 * TypeBox (JSON Schema) schemas, generated CustomResourceDefinitions, and the validators the
 * controller (and an admission webhook) run: one object, an update, and objects against each
 * other. Arbitraries for property tests are in `@egressgateway/crds/testing`.
 *
 * The export list is explicit; the schema building blocks (sub-schemas, `StringEnum`, path
 * helpers) are internal: use the kinds' schemas and types.
 *
 * @packageDocumentation
 */
export {
  ALLOCATOR_POLICIES,
  type AllocatorPolicy,
  API_GROUP,
  API_GROUP_VERSION,
  API_VERSION,
  CLUSTER_INFO_NAME,
  DEFAULT_MAX_ENDPOINTS_PER_SLICE,
  DRAINING_ANNOTATION,
  type EgressKind,
  GATEWAY_NAME_LABEL,
  gatewayLabelValue,
  KINDS,
  type KindInfo,
  MARK_BASE,
  NAMESPACE_DEFAULT_GATEWAY_LABEL,
  PEERS_CONDITION,
  POLICY_NAME_LABEL,
  TUNNEL_PHASES,
  type TunnelPhase,
} from './constants.js';
export {
  type CustomResourceDefinition,
  crdManifestYaml,
  customResourceDefinition,
  customResourceDefinitions,
  PRINTER_COLUMNS,
  type PrinterColumn,
  toStructuralSchema,
} from './crd.js';
export {
  type CrossObjectError,
  ResourceValidationError,
  type ValidationError,
  type ValidationResult,
} from './errors.js';
export { computeIpUsage, type IpUsage } from './ip-usage.js';
export {
  formatPeerClaims,
  PEER_CLAIM_ANNOTATION,
  type PeerClaim,
  type PeerClaimParseError,
  parsePeerClaims,
} from './peer-claim.js';
export { apiReferenceMarkdown } from './reference.js';
export {
  type EgressClusterEndpointSlice,
  EgressClusterEndpointSliceSchema,
  type EgressClusterInfo,
  EgressClusterInfoSchema,
  type EgressClusterPolicy,
  EgressClusterPolicySchema,
  type EgressEndpoint,
  EgressEndpointSchema,
  type EgressEndpointSlice,
  EgressEndpointSliceSchema,
  type EgressGateway,
  EgressGatewaySchema,
  type EgressGatewaySpec,
  type EgressGatewayStatus,
  type EgressPolicy,
  EgressPolicySchema,
  type EgressPolicyStatus,
  type EgressTunnel,
  EgressTunnelSchema,
  type EgressTunnelStatus,
  type EipStatus,
  type GatewayNodeStatus,
  type ObjectMeta,
  type PolicyRef,
  SCHEMAS,
} from './schemas/index.js';
export { type EgressObject, isEgressKind, validateResource } from './validate.js';
export {
  type AdmissionOperation,
  type ClusterView,
  validateAcrossObjects,
  validateAgainstCluster,
} from './validate-cross.js';
export { type EnabledFamilies, validateFamilies } from './validate-families.js';
export { validateUpdate } from './validate-update.js';
