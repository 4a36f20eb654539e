import Type, { type Static } from 'typebox';
import { TUNNEL_PHASES } from '../constants.js';
import { KindSchema, StringEnum } from './common.js';

/** The underlay interface the tunnel rides on. */
export const TunnelParent = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Interface name on the node.' })),
    ipv4: Type.Optional(Type.String({ description: 'Its IPv4 address (VXLAN underlay).' })),
    ipv6: Type.Optional(Type.String({ description: 'Its IPv6 address (VXLAN underlay).' })),
  },
  { additionalProperties: false },
);

/** The node's tunnel endpoint. */
export const TunnelStatus = Type.Object(
  {
    mac: Type.Optional(Type.String({ description: 'MAC of the VXLAN device (locally administered).' })),
    ipv4: Type.Optional(Type.String({ description: 'Tunnel IPv4 address.' })),
    ipv6: Type.Optional(Type.String({ description: 'Tunnel IPv6 address.' })),
    parent: Type.Optional(TunnelParent),
  },
  { additionalProperties: false },
);

/** A status condition (the shape of Kubernetes' `metav1.Condition`, without `observedGeneration`). */
export const TunnelCondition = Type.Object(
  {
    type: Type.String({ minLength: 1, description: 'What the condition is about (e.g. GatewayPeers).' }),
    status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'True, False or Unknown.' }),
    reason: Type.String({
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
      description: 'One CamelCase word for the last transition.',
    }),
    message: Type.Optional(Type.String({ description: 'What a human needs to know about it.' })),
    lastTransitionTime: Type.String({
      format: 'date-time',
      description: 'When the status last changed (RFC 3339).',
    }),
  },
  { additionalProperties: false },
);

/** EgressTunnel status: allocation by the controller, parent and heartbeat by the agent. */
export const EgressTunnelStatus = Type.Object(
  {
    tunnel: Type.Optional(TunnelStatus),
    phase: Type.Optional(
      StringEnum(TUNNEL_PHASES, {
        description: 'Pending, Init, Failed, Ready, HeartbeatTimeout or NodeNotReady.',
      }),
    ),
    mark: Type.Optional(
      Type.String({ description: 'The node fwmark, hex like 0x26d9b723, unique per node.' }),
    ),
    lastHeartbeatTime: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Last heartbeat of the agent (RFC 3339, milliseconds).',
      }),
    ),
    conditions: Type.Optional(
      Type.Array(TunnelCondition, {
        description:
          'Conditions the agent reports, one per type: GatewayPeers (True while the gateway peers decide, False while a gateway falls back to API fencing).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** EgressTunnel spec is empty. */
export const EgressTunnelSpec = Type.Object({}, { additionalProperties: false });

/** The EgressTunnel object schema. */
export const EgressTunnelSchema = KindSchema(
  'EgressTunnel',
  "One node's tunnel endpoint, fwmark and heartbeat; named after the node.",
  EgressTunnelSpec,
  EgressTunnelStatus,
);
/** An EgressTunnel object. */
export type EgressTunnel = Static<typeof EgressTunnelSchema>;
/** EgressTunnel `status`. */
export type EgressTunnelStatus = Static<typeof EgressTunnelStatus>;
