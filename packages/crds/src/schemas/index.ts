import type { TSchema } from 'typebox';
import type { EgressKind } from '../constants.js';
import { EgressClusterInfoSchema } from './egress-cluster-info.js';
import { EgressGatewaySchema } from './egress-gateway.js';
import { EgressClusterPolicySchema, EgressPolicySchema } from './egress-policy.js';
import { EgressTunnelSchema } from './egress-tunnel.js';

export * from './common.js';
export * from './egress-cluster-info.js';
export * from './egress-gateway.js';
export * from './egress-policy.js';
export * from './egress-tunnel.js';

/** The full object schema (TypeBox, i.e. JSON Schema) of every kind. */
export const SCHEMAS: Readonly<Record<EgressKind, TSchema>> = {
  EgressGateway: EgressGatewaySchema,
  EgressTunnel: EgressTunnelSchema,
  EgressPolicy: EgressPolicySchema,
  EgressClusterPolicy: EgressClusterPolicySchema,
  EgressClusterInfo: EgressClusterInfoSchema,
};
