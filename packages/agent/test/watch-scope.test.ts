// What each agent receives (issue 20): its own node's pods, and on a gateway node the endpoint
// slices of the gateways that list it. Against the embedded API server and a live controller
// that writes the slices.
import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { EgressController } from '@egressgateway/controller';
import { customResourceDefinitions } from '@egressgateway/crds';
import {
  EGRESS_ENDPOINT_SLICES,
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  KubeClient,
  NODES,
  PODS,
} from '@egressgateway/kube';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressAgent } from '../src/agent.js';
import { eventually, RecordingBinder } from './harness.js';

const EIP = '198.18.0.50';

describe('agent watch scope against the embedded API server and a live controller', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let client: KubeClient;
  let controller: EgressController;
  let term: AbortController;
  const agents = new Map<string, { agent: EgressAgent; binder: RecordingBinder }>();

  const createPod = async (name: string, app: string, node: string, ip: string) => {
    await client.create(PODS, {
      metadata: { name, namespace: 'default', labels: { app } },
      spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
    } as never);
    await kc
      .makeApiClient(CoreV1Api)
      .patchNamespacedPodStatus(
        { name, namespace: 'default', body: { status: { podIP: ip, podIPs: [{ ip }], phase: 'Running' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
  };
  const snatSources = (node: string, id: string) =>
    agents.get(node)?.binder.current?.snat.find((r) => r.id === id)?.sources ?? [];

  beforeEach(async () => {
    server = await startApiServer({});
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    client = new KubeClient(kc);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of customResourceDefinitions()) await objects.create(crd as never);
    for (const [name, labels] of [
      ['gw1', { egress: 'true' }],
      ['gw9', { other: 'true' }],
      ['wk', {}],
      ['wk2', {}],
    ] as const)
      await client.create(NODES, {
        metadata: { name, labels },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      } as never);
    for (const [name, pool, selector] of [
      ['egw1', EIP, { egress: 'true' }],
      ['egw2', '198.18.0.60', { other: 'true' }],
    ] as const)
      await client.create(EGRESS_GATEWAYS, {
        metadata: { name },
        spec: {
          ippools: { ipv4: [pool], ipv4DefaultEIP: pool },
          nodeSelector: { selector: { matchLabels: selector } },
        },
      } as never);
    for (const [name, gateway, app] of [
      ['p1', 'egw1', 'web'],
      ['p2', 'egw2', 'db'],
    ] as const)
      await client.create(EGRESS_POLICIES, {
        metadata: { name, namespace: 'default' },
        spec: {
          egressGatewayName: gateway,
          appliedTo: { podSelector: { matchLabels: { app } } },
          destSubnet: ['203.0.113.0/24'],
        },
      } as never);
    await createPod('web-a', 'web', 'wk', '198.19.1.2');
    await createPod('web-b', 'web', 'wk2', '198.19.2.2');
    await createPod('db-a', 'db', 'wk', '198.19.1.3');
    controller = new EgressController({
      client,
      settings: {
        eipEvictionTimeoutMs: 1500,
        tunnelMonitorPeriodMs: 5000,
        tunnelUpdatePeriodMs: 200,
        rebalance: false,
        detection: 'deadline',
        tunnelIpv4Cidr: '198.19.255.0/24',
        tunnelIpv6Cidr: '',
      },
      endpointSlices: { debounceMs: 20 },
    });
    controller.start();
    await controller.waitForSync();
    term = new AbortController();
    void controller.lead(term.signal);
    for (const [i, name] of ['gw1', 'wk'].entries()) {
      const binder = new RecordingBinder(1100);
      const agent = new EgressAgent({
        client: new KubeClient(kc),
        binder,
        settings: {
          nodeName: name,
          egressInterface: 'eth0',
          parent: { name: 'eth0', ipv4: `198.18.0.${11 + i}` },
          tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, ipv4Cidr: '198.19.255.0/24' },
          updatePeriodMs: 200,
          evictionTimeoutMs: 1500,
          fenceMarginMs: 400,
        },
      });
      await agent.start();
      agents.set(name, { agent, binder });
    }
  });

  afterEach(async () => {
    for (const { agent } of agents.values()) await agent.stop({ handover: false });
    agents.clear();
    term.abort();
    await controller.stop();
    await server.close();
  });

  it("an agent caches only its own node's pods; only a gateway node watches slices, and only its gateways'", async () => {
    const names = (node: string) =>
      agents
        .get(node)
        ?.agent.pods.list()
        .map((p) => p.metadata?.name)
        .sort();
    expect(names('wk')).toEqual(['db-a', 'web-a']);
    expect(names('gw1')).toEqual([]);
    await eventually('gw1 watches its gateway', () =>
      agents.get('gw1')?.agent.sliceSources.watching === 'egw1' ? true : undefined,
    );
    expect(agents.get('wk')?.agent.sliceSources.watching).toBe('');
    // p2's slice exists (gateway egw2, which does not list gw1) but gw1 does not receive it.
    await eventually('p2 slice written', async () =>
      (await client.list(EGRESS_ENDPOINT_SLICES, { labelSelector: 'spidernet.io/policy-name=p2' })).items
        .length === 1
        ? true
        : undefined,
    );
    expect(agents.get('gw1')?.agent.sliceSources.addresses('default/p2')).toEqual([]);
  });

  it("the gateway node SNATs every node's pods of its policies from the slices, and follows a new pod", async () => {
    // web-b runs on wk2, which has no agent here: only its slice tells gw1 about it.
    await eventually('gw1 SNATs both web pods', () =>
      snatSources('gw1', 'default/p1').join() === '198.19.1.2,198.19.2.2' ? true : undefined,
    );
    expect(agents.get('gw1')?.binder.current?.eips).toEqual([EIP]);
    expect(snatSources('gw1', 'default/p2')).toEqual([]);
    // The worker steers its own pod to the holder and SNATs nothing (it is in no gateway).
    await eventually('wk steers web-a', () =>
      agents
        .get('wk')
        ?.binder.current?.steering.find((r) => r.id === 'default/p1')
        ?.sources.join() === '198.19.1.2'
        ? true
        : undefined,
    );
    expect(agents.get('wk')?.binder.current?.snat).toEqual([]);
    await createPod('web-c', 'web', 'wk2', '198.19.2.3');
    await eventually('gw1 SNATs the new pod', () =>
      snatSources('gw1', 'default/p1').includes('198.19.2.3') ? true : undefined,
    );
    await client.delete(PODS, 'web-b', 'default');
    await eventually('gw1 drops the deleted pod', () =>
      !snatSources('gw1', 'default/p1').includes('198.19.2.2') ? true : undefined,
    );
  });
});
