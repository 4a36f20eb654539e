import type {
  EgressGatewayLike,
  EgressPolicyLike,
  EgressTunnelLike,
  GatewayIpUsage,
  GatewayNodeLike,
  NodeLike,
  TunnelObservation,
} from '../egress/types.js';
import type { LabelSelectorLike } from '../label-selector.js';

/** Options of {@link makeGateway}. */
export interface GatewayInit {
  readonly ipv4?: readonly string[];
  readonly ipv6?: readonly string[];
  readonly ipv4DefaultEIP?: string;
  readonly ipv6DefaultEIP?: string;
  readonly selector?: LabelSelectorLike;
  readonly clusterDefault?: boolean;
  readonly nodeList?: readonly GatewayNodeLike[];
  /** Written `status.ipUsage` (only with `nodeList`). */
  readonly ipUsage?: GatewayIpUsage;
}

/**
 * Builds an EgressGateway object shaped like the CRD (defaults: selector `egress: "true"`).
 *
 * @example
 * ```ts
 * makeGateway('egw1', { ipv4: ['10.6.1.55', '10.6.1.56'], ipv4DefaultEIP: '10.6.1.56' });
 * ```
 */
export function makeGateway(name: string, init: GatewayInit = {}): EgressGatewayLike {
  return {
    metadata: { name },
    spec: {
      ippools: {
        ipv4: init.ipv4 ?? [],
        ipv6: init.ipv6 ?? [],
        ...(init.ipv4DefaultEIP !== undefined ? { ipv4DefaultEIP: init.ipv4DefaultEIP } : {}),
        ...(init.ipv6DefaultEIP !== undefined ? { ipv6DefaultEIP: init.ipv6DefaultEIP } : {}),
      },
      nodeSelector: { selector: init.selector ?? { matchLabels: { egress: 'true' } } },
      clusterDefault: init.clusterDefault ?? false,
    },
    ...(init.nodeList !== undefined
      ? {
          status: {
            nodeList: init.nodeList,
            ...(init.ipUsage !== undefined ? { ipUsage: init.ipUsage } : {}),
          },
        }
      : {}),
  };
}

/** Builds a Node with labels and a Ready condition. */
export function makeNode(
  name: string,
  labels: Readonly<Record<string, string>> = { egress: 'true' },
  ready = true,
  internalIPs: readonly string[] = [],
): NodeLike {
  return {
    metadata: { name, labels },
    status: {
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      addresses: internalIPs.map((address) => ({ type: 'InternalIP', address })),
    },
  };
}

/** Builds an EgressTunnel as observed by the controller (`observedAt` in the controller's ms clock). */
export function makeTunnel(
  name: string,
  observedAt: number | null,
  phase = 'Ready',
  draining = false,
): TunnelObservation {
  const tunnel: EgressTunnelLike = {
    metadata: { name },
    status: {
      phase,
      mark: '0x26000001',
      ...(observedAt !== null ? { lastHeartbeatTime: new Date(observedAt).toISOString() } : {}),
    },
  };
  return draining ? { tunnel, observedAt, draining } : { tunnel, observedAt };
}

/** Options of {@link makePolicy}. */
export interface PolicyInit {
  readonly gateway?: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly useNodeIP?: boolean;
  readonly allocatorPolicy?: 'default' | 'rr';
}

/** Builds an EgressPolicy (give `namespace: ''` semantics via {@link makeClusterPolicy} instead). */
export function makePolicy(namespace: string, name: string, init: PolicyInit = {}): EgressPolicyLike {
  return {
    metadata: { name, namespace },
    spec: {
      ...(init.gateway !== undefined ? { egressGatewayName: init.gateway } : {}),
      egressIP: {
        ...(init.ipv4 !== undefined ? { ipv4: init.ipv4 } : {}),
        ...(init.ipv6 !== undefined ? { ipv6: init.ipv6 } : {}),
        useNodeIP: init.useNodeIP ?? false,
        allocatorPolicy: init.allocatorPolicy ?? 'default',
      },
      appliedTo: { podSelector: { matchLabels: { app: name } } },
    },
  };
}

/** Builds an EgressClusterPolicy. */
export function makeClusterPolicy(name: string, init: PolicyInit = {}): EgressPolicyLike {
  const { metadata, ...rest } = makePolicy('', name, init);
  return { metadata: { name: metadata?.name }, ...rest };
}
