import Type, { type Static } from 'typebox';
import { ALLOCATOR_POLICIES } from '../constants.js';
import { KindSchema, LabelSelectorSchema, StringEnum } from './common.js';

/** `spec.egressIP`. */
export const EgressIPSpec = Type.Object(
  {
    ipv4: Type.Optional(Type.String({ description: 'A chosen IPv4 EIP from the gateway pool.' })),
    ipv6: Type.Optional(Type.String({ description: 'A chosen IPv6 EIP from the gateway pool.' })),
    useNodeIP: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Leave with the gateway node's own address instead of an EIP.",
      }),
    ),
    allocatorPolicy: Type.Optional(
      StringEnum(ALLOCATOR_POLICIES, {
        default: 'default',
        description:
          "Without an explicit EIP: 'default' uses the gateway default EIP, 'rr' picks round robin.",
      }),
    ),
  },
  // Upstream's CRD default for the whole object: a policy without egressIP is stored with it.
  { additionalProperties: false, default: { allocatorPolicy: 'default', useNodeIP: false } },
);

const AppliedToFields = {
  podSelector: Type.Optional(LabelSelectorSchema),
  podSubnet: Type.Optional(
    Type.Array(Type.String(), { description: 'Source CIDRs; exclusive with podSelector.' }),
  ),
};

const policySpec = <A extends ReturnType<typeof Type.Object>>(appliedTo: A) =>
  Type.Object(
    {
      egressGatewayName: Type.Optional(
        Type.String({
          description: 'The EgressGateway; empty falls back to the namespace or cluster default.',
        }),
      ),
      egressIP: Type.Optional(EgressIPSpec),
      appliedTo,
      destSubnet: Type.Optional(
        Type.Array(Type.String(), {
          description: 'Destination CIDRs; empty means everything outside the cluster.',
        }),
      ),
      priority: Type.Optional(Type.Integer({ description: 'Higher wins when policies overlap.' })),
    },
    { additionalProperties: false },
  );

/** EgressPolicy spec. */
export const EgressPolicySpec = policySpec(
  Type.Object(AppliedToFields, {
    additionalProperties: false,
    description: 'Which pods: exactly one of podSelector or podSubnet.',
  }),
);

/** EgressClusterPolicy spec: EgressPolicy's plus `appliedTo.namespaceSelector`. */
export const EgressClusterPolicySpec = policySpec(
  Type.Object(
    { ...AppliedToFields, namespaceSelector: Type.Optional(LabelSelectorSchema) },
    {
      additionalProperties: false,
      description:
        'Which pods: exactly one of podSelector or podSubnet, optionally limited by namespaceSelector.',
    },
  ),
);

/** Policy status, derived by the controller from the gateway's nodeList. */
export const EgressPolicyStatus = Type.Object(
  {
    eip: Type.Optional(
      Type.Object(
        {
          ipv4: Type.Optional(Type.String({ description: 'IPv4 EIP in use.' })),
          ipv6: Type.Optional(Type.String({ description: 'IPv6 EIP in use.' })),
        },
        { additionalProperties: false },
      ),
    ),
    node: Type.Optional(Type.String({ description: 'The gateway node holding the EIP.' })),
  },
  { additionalProperties: false },
);

/** The EgressPolicy object schema (namespaced). */
export const EgressPolicySchema = KindSchema(
  'EgressPolicy',
  'Which pods of a namespace leave the cluster through which gateway and EIP.',
  EgressPolicySpec,
  EgressPolicyStatus,
);
/** The EgressClusterPolicy object schema (cluster scope). */
export const EgressClusterPolicySchema = KindSchema(
  'EgressClusterPolicy',
  'Which pods of the cluster leave through which gateway and EIP.',
  EgressClusterPolicySpec,
  EgressPolicyStatus,
);
/** An EgressPolicy object. */
export type EgressPolicy = Static<typeof EgressPolicySchema>;
/** An EgressClusterPolicy object. */
export type EgressClusterPolicy = Static<typeof EgressClusterPolicySchema>;
/** EgressPolicy/EgressClusterPolicy `status`. */
export type EgressPolicyStatus = Static<typeof EgressPolicyStatus>;
