import Type, { type Static } from 'typebox';
import { KindSchema, StringEnum } from './common.js';

const IpLists = Type.Object(
  {
    ipv4: Type.Optional(Type.Array(Type.String())),
    ipv6: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

/** EgressClusterInfo spec: how in-cluster destinations are found. */
export const EgressClusterInfoSpec = Type.Object(
  {
    autoDetect: Type.Optional(
      Type.Object(
        {
          podCidrMode: Type.Optional(
            StringEnum(['auto', 'k8s', 'calico', ''] as const, {
              description: 'Where pod CIDRs come from.',
              default: 'auto',
            }),
          ),
          clusterIP: Type.Optional(
            Type.Boolean({ description: 'Detect the service cluster IP range.', default: true }),
          ),
          nodeIP: Type.Optional(Type.Boolean({ description: 'Detect node addresses.', default: true })),
        },
        { additionalProperties: false },
      ),
    ),
    extraCidr: Type.Optional(Type.Array(Type.String(), { description: 'More in-cluster CIDRs to exclude.' })),
  },
  { additionalProperties: false },
);

/** EgressClusterInfo status: the detected in-cluster destinations. */
export const EgressClusterInfoStatus = Type.Object(
  {
    podCidrMode: Type.Optional(Type.String()),
    nodeIP: Type.Optional(
      Type.Record(Type.String(), IpLists, { description: 'Node name to its addresses.' }),
    ),
    clusterIP: Type.Optional(IpLists),
    podCIDR: Type.Optional(
      Type.Record(Type.String(), IpLists, { description: 'Source name to its pod CIDRs.' }),
    ),
    extraCidr: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

/** The EgressClusterInfo object schema (singleton `default`). */
export const EgressClusterInfoSchema = KindSchema(
  'EgressClusterInfo',
  'In-cluster destinations that policies without destSubnet never SNAT; singleton named default.',
  EgressClusterInfoSpec,
  EgressClusterInfoStatus,
);
/** An EgressClusterInfo object. */
export type EgressClusterInfo = Static<typeof EgressClusterInfoSchema>;
