/** API group of every egress gateway kind. */
export const API_GROUP = 'egressgateway.spidernet.io';
/** Served and stored version. */
export const API_VERSION = 'v1beta1';
/** `apiVersion` field value of every egress gateway object. */
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;

/**
 * The kinds of the API: the five users write or read, and the two endpoint slice kinds the
 * controller writes for the agents.
 */
export type EgressKind =
  | 'EgressGateway'
  | 'EgressTunnel'
  | 'EgressPolicy'
  | 'EgressClusterPolicy'
  | 'EgressClusterInfo'
  | 'EgressEndpointSlice'
  | 'EgressClusterEndpointSlice';

/** Names, scope and short names of one kind, as the CRD declares them. */
export interface KindInfo {
  readonly kind: EgressKind;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Cluster' | 'Namespaced';
}

/** Every kind with its plural, singular, short name and scope. */
export const KINDS: Readonly<Record<EgressKind, KindInfo>> = {
  EgressGateway: {
    kind: 'EgressGateway',
    listKind: 'EgressGatewayList',
    plural: 'egressgateways',
    singular: 'egressgateway',
    shortNames: ['egw'],
    scope: 'Cluster',
  },
  EgressTunnel: {
    kind: 'EgressTunnel',
    listKind: 'EgressTunnelList',
    plural: 'egresstunnels',
    singular: 'egresstunnel',
    shortNames: ['egt'],
    scope: 'Cluster',
  },
  EgressPolicy: {
    kind: 'EgressPolicy',
    listKind: 'EgressPolicyList',
    plural: 'egresspolicies',
    singular: 'egresspolicy',
    shortNames: ['egp'],
    scope: 'Namespaced',
  },
  EgressClusterPolicy: {
    kind: 'EgressClusterPolicy',
    listKind: 'EgressClusterPolicyList',
    plural: 'egressclusterpolicies',
    singular: 'egressclusterpolicy',
    shortNames: ['egcp'],
    scope: 'Cluster',
  },
  EgressClusterInfo: {
    kind: 'EgressClusterInfo',
    listKind: 'EgressClusterInfoList',
    plural: 'egressclusterinfos',
    singular: 'egressclusterinfo',
    shortNames: ['egci'],
    scope: 'Cluster',
  },
  EgressEndpointSlice: {
    kind: 'EgressEndpointSlice',
    listKind: 'EgressEndpointSliceList',
    plural: 'egressendpointslices',
    singular: 'egressendpointslice',
    shortNames: ['egep'],
    scope: 'Namespaced',
  },
  EgressClusterEndpointSlice: {
    kind: 'EgressClusterEndpointSlice',
    listKind: 'EgressClusterEndpointSliceList',
    plural: 'egressclusterendpointslices',
    singular: 'egressclusterendpointslice',
    shortNames: ['egcep'],
    scope: 'Cluster',
  },
};

/** Phases of an EgressTunnel, as upstream writes them. */
export const TUNNEL_PHASES = [
  'Pending',
  'Init',
  'Failed',
  'Ready',
  'HeartbeatTimeout',
  'NodeNotReady',
] as const;
/** One EgressTunnel phase. */
export type TunnelPhase = (typeof TUNNEL_PHASES)[number];

/**
 * The EgressTunnel status condition the agent of a gateway node writes about its gateway peers:
 * `True` (reason `PeersHeard`) while the peer protocol decides for every gateway of the node,
 * `False` (reason `Fallback`) while some gateway runs on API fencing alone (UDP blocked, no key),
 * absent when the agent runs without peers or the node is in no gateway with another member.
 */
export const PEERS_CONDITION = 'GatewayPeers';

/** EIP allocator policies of an EgressPolicy. */
export const ALLOCATOR_POLICIES = ['default', 'rr'] as const;
/** One allocator policy. */
export type AllocatorPolicy = (typeof ALLOCATOR_POLICIES)[number];

/** Lowest gateway fwmark (exclusive): marks are `0x26xxxxxx`, unique per node. */
export const MARK_BASE = 0x26000000;
/** Namespace label naming the gateway for policies of that namespace without `egressGatewayName`. */
export const NAMESPACE_DEFAULT_GATEWAY_LABEL = 'spidernet.io/egressgateway-default';
/** Name of the EgressClusterInfo singleton. */
export const CLUSTER_INFO_NAME = 'default';

/**
 * Annotation an agent puts on its own EgressTunnel when it shuts down gracefully (planned
 * handover): the controller moves the node's EIPs at once and places nothing new on it. The agent
 * removes it when it starts. Value: the RFC 3339 time the drain began.
 */
export const DRAINING_ANNOTATION = 'egressgateway.spidernet.io/draining';

/**
 * Label on every EgressEndpointSlice and EgressClusterEndpointSlice naming its policy (upstream's
 * key; the slice's namespace, for an EgressEndpointSlice, is the policy's).
 */
export const POLICY_NAME_LABEL = 'spidernet.io/policy-name';
/**
 * Label on every endpoint slice naming the gateway of its policy (ours, not upstream's): an agent
 * watches only the slices of the gateways that list its node, with one label selector.
 */
export const GATEWAY_NAME_LABEL = 'egressgateway.spidernet.io/gateway';
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/**
 * The value of {@link GATEWAY_NAME_LABEL} for a gateway: its name when that is a valid label
 * value (at most 63 characters), else its first 50 characters and a hash of the whole name (a
 * gateway name may be a 253-character DNS subdomain). The controller writes it, agents select by it.
 *
 * @example
 * gatewayLabelValue('egw1'); // 'egw1'
 */
export function gatewayLabelValue(gateway: string): string {
  if (LABEL_VALUE.test(gateway)) return gateway;
  // FNV-1a, 32 bits: stable across processes and versions, no dependency.
  let h = 0x811c9dc5;
  for (let i = 0; i < gateway.length; i++) h = Math.imul(h ^ gateway.charCodeAt(i), 0x01000193) >>> 0;
  const prefix = gateway.slice(0, 50).replace(/[^A-Za-z0-9]+$/, '');
  return `${prefix}-${h.toString(16).padStart(8, '0')}`;
}

/** Upstream's default `maxNumberEndpointPerSlice`: endpoints per slice before a new slice starts. */
export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;
