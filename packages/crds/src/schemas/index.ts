import type { TSchema } from 'typebox';
import type { EgressKind } from '../constants.js';
import { EgressClusterInfoSchema } from './egress-cluster-info.js';
import { EgressClusterEndpointSliceSchema, EgressEndpointSliceSchema } from './egress-endpoint-slice.js';
import { EgressGatewaySchema } from './egress-gateway.js';
import { EgressClusterPolicySchema, EgressPolicySchema } from './egress-policy.js';
import { EgressTunnelSchema } from './egress-tunnel.js';

export type { ObjectMeta } from './common.js';
export { type EgressClusterInfo, EgressClusterInfoSchema } from './egress-cluster-info.js';
export {
  type EgressClusterEndpointSlice,
  EgressClusterEndpointSliceSchema,
  type EgressEndpoint,
  EgressEndpointSchema,
  type EgressEndpointSlice,
  EgressEndpointSliceSchema,
} from './egress-endpoint-slice.js';
export {
  type EgressGateway,
  EgressGatewaySchema,
  type EgressGatewaySpec,
  type EgressGatewayStatus,
  type EipStatus,
  type GatewayNodeStatus,
  type PolicyRef,
} from './egress-gateway.js';
export {
  type EgressClusterPolicy,
  EgressClusterPolicySchema,
  type EgressPolicy,
  EgressPolicySchema,
  type EgressPolicyStatus,
} from './egress-policy.js';
export { type EgressTunnel, EgressTunnelSchema, type EgressTunnelStatus } from './egress-tunnel.js';

/** The full object schema (TypeBox, i.e. JSON Schema) of every kind. */
export const SCHEMAS: Readonly<Record<EgressKind, TSchema>> = {
  EgressGateway: EgressGatewaySchema,
  EgressTunnel: EgressTunnelSchema,
  EgressPolicy: EgressPolicySchema,
  EgressClusterPolicy: EgressClusterPolicySchema,
  EgressClusterInfo: EgressClusterInfoSchema,
  EgressEndpointSlice: EgressEndpointSliceSchema,
  EgressClusterEndpointSlice: EgressClusterEndpointSliceSchema,
};
