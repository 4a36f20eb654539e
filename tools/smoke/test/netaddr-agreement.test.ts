import { type AgentView, desiredNodeState, type PodLike } from '@egressgateway/agent';
import { type EgressGateway, type EgressPolicy, validateResource } from '@egressgateway/crds';
import { InvalidStateError, type NodeDatapathState, validateState } from '@egressgateway/datapath';
import { reconcileEgress } from '@egressgateway/failover';
import { makeGateway, makeNode, makePolicy, makeTunnel } from '@egressgateway/failover/testing';
import { describe, expect, it } from 'vitest';

// Issue 17: the packages that read addresses and label selectors must read them the same way,
// through @egressgateway/netaddr. Each test asks every caller, through its public API, about the
// same input, and expects the verdict Kubernetes gives.

const NOW = 100_000;

describe('label selectors: the agent (pods) and the controller engine (nodes) agree', () => {
  const webPod: PodLike = {
    metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'wk' },
    status: { podIP: '198.19.1.2' },
  };

  function agentSources(podSelector: object): string[] {
    const policy = {
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressPolicy',
      metadata: { name: 'p1', namespace: 'default' },
      spec: { egressGatewayName: 'egw1', appliedTo: { podSelector }, destSubnet: ['198.18.0.100/32'] },
    } as EgressPolicy;
    const gateway: EgressGateway = {
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressGateway',
      metadata: { name: 'egw1' },
      spec: {
        ippools: { ipv4: ['198.18.0.50'] },
        nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
      },
      status: {
        nodeList: [
          {
            name: 'gw1',
            status: 'Ready',
            eips: [{ ipv4: '198.18.0.50', policies: [{ name: 'p1', namespace: 'default' }] }],
          },
        ],
      },
    };
    const view: AgentView = {
      nodeName: 'gw1',
      egressInterface: 'eth0',
      tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, ipv4Cidr: '198.19.255.0/24' },
      tunnels: [
        {
          apiVersion: 'egressgateway.spidernet.io/v1beta1',
          kind: 'EgressTunnel',
          metadata: { name: 'gw1' },
          status: {
            mark: '0x26000011',
            phase: 'Ready',
            tunnel: {
              mac: '66:00:00:00:00:01',
              ipv4: '198.19.255.1',
              parent: { name: 'eth0', ipv4: '198.18.0.1' },
            },
          },
        },
      ],
      gateways: [gateway],
      policies: [policy],
      clusterPolicies: [],
      pods: [webPod],
      namespaceLabels: {},
      fenced: false,
    };
    return desiredNodeState(view).snat.flatMap((r) => [...r.sources]);
  }

  function engineNodes(selector: object): string[] {
    const state = {
      gateways: [
        makeGateway('egw1', {
          ipv4: ['198.18.0.50'],
          ipv4DefaultEIP: '198.18.0.50',
          selector: selector as never,
        }),
      ],
      nodes: [makeNode('n1', { app: 'web' }), makeNode('n2', { app: 'db' })],
      tunnels: [makeTunnel('n1', NOW - 500), makeTunnel('n2', NOW - 500)],
      policies: [],
      clusterPolicies: [],
    };
    const changes = reconcileEgress(state, { evictionTimeoutMs: 3_000 }, NOW);
    return changes.gateways.flatMap((g) => g.nodeList.map((n) => n.name));
  }

  it('a valid selector selects the same objects in both (control)', () => {
    const selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] };
    expect(agentSources(selector)).toEqual(['198.19.1.2']);
    expect(engineNodes(selector)).toEqual(['n1']);
  });

  for (const [what, selector] of [
    ['an unknown operator', { matchExpressions: [{ key: 'app', operator: 'Bogus', values: ['web'] }] }],
    ['NodeSelector operator Gt', { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] }],
    ['In without values', { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }],
    ['an invalid label key', { matchExpressions: [{ key: 'app web', operator: 'DoesNotExist' }] }],
  ] as const) {
    it(`a selector with ${what} is refused by admission and selects nothing in the agent and in the engine`, () => {
      const policy = {
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
        kind: 'EgressPolicy',
        metadata: { name: 'p1', namespace: 'default' },
        spec: { egressGatewayName: 'egw1', appliedTo: { podSelector: selector } },
      };
      expect(validateResource(policy).ok).toBe(false);
      expect(agentSources(selector)).toEqual([]);
      expect(engineNodes(selector)).toEqual([]);
    });
  }
});

describe('addresses: admission, the controller engine and the datapath agree on zones and whitespace', () => {
  const base: NodeDatapathState = {
    egressInterface: 'eth0',
    markRoutes: [],
    eips: [],
    steering: [],
    snat: [],
  };

  function admissionAccepts(field: 'ipv4' | 'ipv6', address: string): boolean {
    const policy = {
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressPolicy',
      metadata: { name: 'p1', namespace: 'default' },
      spec: {
        egressGatewayName: 'egw1',
        egressIP: { [field]: address },
        appliedTo: { podSelector: { matchLabels: { app: 'web' } } },
      },
    };
    return validateResource(policy).ok;
  }

  function engineAssigns(field: 'ipv4' | 'ipv6', address: string): string | undefined {
    const state = {
      gateways: [
        makeGateway('egw1', {
          ipv4: ['198.18.0.10-198.18.0.13'],
          ipv6: ['fd00:18::10-fd00:18::13'],
          ipv4DefaultEIP: '198.18.0.10',
        }),
      ],
      nodes: [makeNode('n1')],
      tunnels: [makeTunnel('n1', NOW - 500)],
      policies: [makePolicy('default', 'p1', { gateway: 'egw1', [field]: address })],
      clusterPolicies: [],
    };
    const changes = reconcileEgress(state, { evictionTimeoutMs: 3_000 }, NOW);
    return changes.policies[0]?.status.eip?.[field];
  }

  function datapathAccepts(address: string): boolean {
    try {
      validateState({ ...base, eips: [address] });
      return true;
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidStateError);
      return false;
    }
  }

  it('a plain address is accepted by all three (control)', () => {
    expect(admissionAccepts('ipv4', '198.18.0.12')).toBe(true);
    expect(engineAssigns('ipv4', '198.18.0.12')).toBe('198.18.0.12');
    expect(datapathAccepts('198.18.0.12')).toBe(true);
    expect(admissionAccepts('ipv6', 'fd00:18::12')).toBe(true);
    expect(engineAssigns('ipv6', 'fd00:18::12')).toBe('fd00:18::12');
    expect(datapathAccepts('fd00:18::12')).toBe(true);
  });

  for (const [field, address] of [
    ['ipv6', 'fd00:18::12%eth0'],
    ['ipv6', 'fd00:18::12%2'],
    ['ipv4', ' 198.18.0.12'],
    ['ipv4', '198.18.0.12\n'],
    ['ipv6', ' fd00:18::12'],
  ] as const) {
    it(`${JSON.stringify(address)} is refused by admission, not honoured by the engine, refused by the datapath`, () => {
      expect(admissionAccepts(field, address)).toBe(false);
      expect(engineAssigns(field, address)).toBeUndefined();
      expect(datapathAccepts(address)).toBe(false);
    });
  }
});
