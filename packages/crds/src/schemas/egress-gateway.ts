import Type, { type Static } from 'typebox';
import { KindSchema, LabelSelectorSchema } from './common.js';

const AddressList = (family: string) =>
  Type.Array(Type.String(), {
    description: `${family} egress IPs: single addresses, ranges (first-last) or CIDRs.`,
  });

/** `spec.ippools`: the gateway's EIP pools. */
export const EgressIPPools = Type.Object(
  {
    ipv4: Type.Optional(AddressList('IPv4')),
    ipv6: Type.Optional(AddressList('IPv6')),
    ipv4DefaultEIP: Type.Optional(
      Type.String({
        description: 'EIP used by policies that name none (allocatorPolicy default); must be in ipv4.',
      }),
    ),
    ipv6DefaultEIP: Type.Optional(
      Type.String({
        description: 'EIP used by policies that name none (allocatorPolicy default); must be in ipv6.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'EIP pools. In dual stack both pools hold the same number of addresses; the n-th IPv4 pairs with the n-th IPv6.',
  },
);

/** A policy that uses an EIP, as listed in the gateway status. */
export const PolicyRef = Type.Object(
  {
    name: Type.String({ description: 'Policy name.' }),
    namespace: Type.Optional(
      Type.String({ description: 'Policy namespace; empty for an EgressClusterPolicy.' }),
    ),
  },
  { additionalProperties: false },
);

/** One EIP (pair) held by a node, with the policies using it. */
export const EipStatus = Type.Object(
  {
    ipv4: Type.Optional(Type.String({ description: 'IPv4 EIP; empty for useNodeIP policies.' })),
    ipv6: Type.Optional(Type.String({ description: 'IPv6 EIP; empty for useNodeIP policies.' })),
    policies: Type.Optional(
      Type.Array(PolicyRef, { description: 'Policies whose traffic leaves with this EIP.' }),
    ),
  },
  { additionalProperties: false },
);

/** One selected node in the gateway status. */
export const GatewayNodeStatus = Type.Object(
  {
    name: Type.String({ description: 'Node name.' }),
    status: Type.Optional(Type.String({ description: "The node's EgressTunnel phase." })),
    eips: Type.Optional(Type.Array(EipStatus, { description: 'EIPs this node holds.' })),
  },
  { additionalProperties: false },
);

/** `status.ipUsage`. */
export const IpUsageStatus = Type.Object(
  {
    ipv4Total: Type.Optional(Type.Integer({ description: 'Addresses in the IPv4 pool.' })),
    ipv4Free: Type.Optional(Type.Integer({ description: 'IPv4 pool addresses not used by any policy.' })),
    ipv6Total: Type.Optional(Type.Integer({ description: 'Addresses in the IPv6 pool.' })),
    ipv6Free: Type.Optional(Type.Integer({ description: 'IPv6 pool addresses not used by any policy.' })),
  },
  { additionalProperties: false },
);

/** EgressGateway spec. */
export const EgressGatewaySpec = Type.Object(
  {
    clusterDefault: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'The gateway of policies that name none; at most one gateway.',
      }),
    ),
    ippools: Type.Optional(EgressIPPools),
    nodeSelector: Type.Object(
      {
        selector: LabelSelectorSchema,
        policy: Type.Optional(
          Type.String({ description: 'Node selection policy (upstream accepts "doing" only).' }),
        ),
      },
      { additionalProperties: false, description: 'Which nodes are gateway nodes.' },
    ),
  },
  { additionalProperties: false },
);

/** EgressGateway status, written by the controller only. */
export const EgressGatewayStatus = Type.Object(
  {
    nodeList: Type.Optional(
      Type.Array(GatewayNodeStatus, {
        description: 'Selected nodes and the EIPs each holds: the one source of truth.',
      }),
    ),
    ipUsage: Type.Optional(IpUsageStatus),
  },
  { additionalProperties: false },
);

/** The EgressGateway object schema. */
export const EgressGatewaySchema = KindSchema(
  'EgressGateway',
  'A set of gateway nodes and the EIPs that float between them.',
  EgressGatewaySpec,
  EgressGatewayStatus,
);
/** An EgressGateway object. */
export type EgressGateway = Static<typeof EgressGatewaySchema>;
/** EgressGateway `spec`. */
export type EgressGatewaySpec = Static<typeof EgressGatewaySpec>;
/** EgressGateway `status`. */
export type EgressGatewayStatus = Static<typeof EgressGatewayStatus>;
/** One `status.nodeList` entry. */
export type GatewayNodeStatus = Static<typeof GatewayNodeStatus>;
/** One EIP entry of a node in `status.nodeList`. */
export type EipStatus = Static<typeof EipStatus>;
/** A policy reference in `status.nodeList[].eips[].policies`. */
export type PolicyRef = Static<typeof PolicyRef>;
