import { describe, expect, expectTypeOf, it } from 'vitest';
import { reconcileEgress } from './reconcile.js';
import type { EgressGatewayLike, EgressPolicyLike, EgressTunnelLike, NodeLike } from './types.js';

// Shapes as @egressgateway/crds (TypeBox, everything optional like the CRD schema) and client-node produce
// them: metadata and name optional, string unions where the engine takes strings. If these stop being
// assignable, the structural input types have drifted from the API.
interface CrdLikeGateway {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: {
    ippools?: { ipv4?: string[]; ipv6?: string[]; ipv4DefaultEIP?: string; ipv6DefaultEIP?: string };
    nodeSelector?: {
      selector?: {
        matchLabels?: Record<string, string>;
        matchExpressions?: Array<{
          key: string;
          operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
          values?: string[];
        }>;
      };
    };
    clusterDefault?: boolean;
  };
  status?: {
    nodeList?: Array<{
      name: string;
      status?: string;
      eips?: Array<{ ipv4?: string; ipv6?: string; policies?: Array<{ name: string; namespace?: string }> }>;
    }>;
    ipUsage?: { ipv4Total?: number };
  };
}
interface CrdLikeTunnel {
  metadata?: { name?: string };
  spec?: Record<string, never>;
  status?: {
    lastHeartbeatTime?: string;
    mark?: string;
    phase?: 'Pending' | 'Init' | 'Failed' | 'Ready' | 'HeartbeatTimeout' | 'NodeNotReady';
    tunnel?: {
      mac?: string;
      ipv4?: string;
      ipv6?: string;
      parent?: { name?: string; ipv4?: string; ipv6?: string };
    };
  };
}
interface CrdLikePolicy {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    egressGatewayName?: string;
    egressIP?: { ipv4?: string; ipv6?: string; useNodeIP?: boolean; allocatorPolicy?: 'default' | 'rr' };
    appliedTo?: { podSelector?: { matchLabels?: Record<string, string> }; podSubnet?: string[] };
    destSubnet?: string[];
    priority?: number;
  };
  status?: { eip?: { ipv4?: string; ipv6?: string }; node?: string };
}
interface ClientNodeNode {
  metadata?: { name?: string; labels?: { [key: string]: string } };
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string }>;
    addresses?: Array<{ type: string; address: string }>;
  };
}

describe('structural input types', () => {
  it('accept CRD-shaped and client-node-shaped objects', () => {
    expectTypeOf<CrdLikeGateway>().toExtend<EgressGatewayLike>();
    expectTypeOf<CrdLikeTunnel>().toExtend<EgressTunnelLike>();
    expectTypeOf<CrdLikePolicy>().toExtend<EgressPolicyLike>();
    expectTypeOf<ClientNodeNode>().toExtend<NodeLike>();
  });

  it('ignores objects without a name instead of failing', () => {
    const r = reconcileEgress(
      {
        gateways: [{ spec: {} }],
        nodes: [{}],
        tunnels: [{ tunnel: {}, observedAt: 1 }],
        policies: [{ spec: {} }],
        clusterPolicies: [],
      },
      { evictionTimeoutMs: 3_000 },
      2,
    );
    expect([r.tunnels, r.gateways, r.policies, r.events, r.problems]).toEqual([[], [], [], [], []]);
  });
});
