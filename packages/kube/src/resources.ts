import { API_GROUP, API_VERSION, type EgressKind, KINDS } from '@egressgateway/crds';

/** Where a resource lives in the API: group (`''` for core), version, plural, scope. */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

const egress = (kind: EgressKind): ResourceRef => ({
  group: API_GROUP,
  version: API_VERSION,
  plural: KINDS[kind].plural,
  kind,
  namespaced: KINDS[kind].scope === 'Namespaced',
});

/** EgressGateways. */
export const EGRESS_GATEWAYS = egress('EgressGateway');
/** EgressTunnels (one per node). */
export const EGRESS_TUNNELS = egress('EgressTunnel');
/** EgressPolicies (namespaced). */
export const EGRESS_POLICIES = egress('EgressPolicy');
/** EgressClusterPolicies. */
export const EGRESS_CLUSTER_POLICIES = egress('EgressClusterPolicy');
/** EgressClusterInfos. */
export const EGRESS_CLUSTER_INFOS = egress('EgressClusterInfo');
/** EgressEndpointSlices (namespaced; the controller writes them per EgressPolicy). */
export const EGRESS_ENDPOINT_SLICES = egress('EgressEndpointSlice');
/** EgressClusterEndpointSlices (the controller writes them per EgressClusterPolicy). */
export const EGRESS_CLUSTER_ENDPOINT_SLICES = egress('EgressClusterEndpointSlice');
/** core/v1 Nodes. */
export const NODES: ResourceRef = {
  group: '',
  version: 'v1',
  plural: 'nodes',
  kind: 'Node',
  namespaced: false,
};
/** core/v1 Pods. */
export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
/** core/v1 Secrets (the webhook's CA, the gateway peers' keys). */
export const SECRETS: ResourceRef = {
  group: '',
  version: 'v1',
  plural: 'secrets',
  kind: 'Secret',
  namespaced: true,
};
/** core/v1 Namespaces. */
export const NAMESPACES: ResourceRef = {
  group: '',
  version: 'v1',
  plural: 'namespaces',
  kind: 'Namespace',
  namespaced: false,
};

/**
 * The URL path of a collection (`namespace` omitted: all namespaces) or, with `name`, of one
 * object; `subresource` appends e.g. `/status`.
 */
export function resourcePath(
  ref: ResourceRef,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns = ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const item = name ? `/${encodeURIComponent(name)}` : '';
  const sub = name && subresource ? `/${subresource}` : '';
  return `${base}${ns}/${ref.plural}${item}${sub}`;
}

/** `apiVersion` of a resource's objects. */
export function apiVersionOf(ref: ResourceRef): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}
