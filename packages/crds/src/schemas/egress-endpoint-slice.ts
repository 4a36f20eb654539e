import Type, { type Static } from 'typebox';
import { ObjectMeta } from './common.js';

/**
 * One pod a policy selects, as upstream's `EgressEndpoint`: where it runs and its addresses.
 * Every field is optional, as upstream declares them.
 */
export const EgressEndpointSchema = Type.Object(
  {
    ns: Type.Optional(Type.String({ description: 'Namespace of the pod.' })),
    pod: Type.Optional(Type.String({ description: 'Name of the pod.' })),
    ipv4: Type.Optional(
      Type.Array(Type.String(), { description: 'IPv4 addresses of the pod (status.podIPs), sorted.' }),
    ),
    ipv6: Type.Optional(
      Type.Array(Type.String(), { description: 'IPv6 addresses of the pod (status.podIPs), sorted.' }),
    ),
    node: Type.Optional(Type.String({ description: 'Node the pod runs on (spec.nodeName).' })),
  },
  { additionalProperties: false },
);
/** One endpoint of a slice. */
export type EgressEndpoint = Static<typeof EgressEndpointSchema>;

// The slices have no spec or status: like discovery/v1 EndpointSlice, the list is a top-level
// field, so the object schema is written here instead of through KindSchema.
const sliceSchema = (kind: string, description: string) =>
  Type.Object(
    {
      apiVersion: Type.Optional(Type.String({ description: 'egressgateway.spidernet.io/v1beta1' })),
      kind: Type.Optional(Type.String({ description: kind })),
      metadata: Type.Optional(ObjectMeta),
      endpoints: Type.Optional(
        Type.Array(EgressEndpointSchema, {
          description:
            'The selected pods that have an address (at most maxNumberEndpointPerSlice, default 100, per slice).',
        }),
      ),
    },
    { additionalProperties: false, description },
  );

/** The EgressEndpointSlice object schema (namespaced, one or more per EgressPolicy). */
export const EgressEndpointSliceSchema = sliceSchema(
  'EgressEndpointSlice',
  'The addresses and nodes of the pods an EgressPolicy selects, written by the controller; labelled spidernet.io/policy-name and owned by the policy.',
);
/** An EgressEndpointSlice object. */
export type EgressEndpointSlice = Static<typeof EgressEndpointSliceSchema>;

/** The EgressClusterEndpointSlice object schema (cluster-scoped, one or more per EgressClusterPolicy). */
export const EgressClusterEndpointSliceSchema = sliceSchema(
  'EgressClusterEndpointSlice',
  'The addresses and nodes of the pods an EgressClusterPolicy selects, written by the controller; labelled spidernet.io/policy-name and owned by the policy.',
);
/** An EgressClusterEndpointSlice object. */
export type EgressClusterEndpointSlice = Static<typeof EgressClusterEndpointSliceSchema>;
