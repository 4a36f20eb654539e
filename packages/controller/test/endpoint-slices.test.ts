// Endpoint slices against the embedded API server: what the leader writes for the pods each
// policy selects, batched (a manual clock holds the debounce), and removed with their policy.
import { startApiServer } from '@egressgateway/apiserver';
import {
  customResourceDefinitions,
  type EgressClusterPolicy,
  type EgressEndpointSlice,
  type EgressGateway,
  type EgressPolicy,
} from '@egressgateway/crds';
import { ManualClock } from '@egressgateway/election/testing';
import {
  EGRESS_CLUSTER_ENDPOINT_SLICES,
  EGRESS_CLUSTER_POLICIES,
  EGRESS_ENDPOINT_SLICES,
  EGRESS_POLICIES,
  KubeClient,
  NAMESPACES,
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
import { EgressController } from '../src/controller.js';
import { EndpointSliceSync } from '../src/endpoint-slice-sync.js';
import { createControllerMetrics } from '../src/metrics.js';
import type { Obj } from '../src/objects.js';
import { eventually, startCluster, type TestCluster, testSettings } from './harness.js';

type SliceObj = EgressEndpointSlice & {
  metadata: { name: string; ownerReferences?: Array<{ uid: string; kind: string }> };
};

describe('endpoint slices against the embedded API server', () => {
  let cluster: TestCluster;

  const createPod = async (
    name: string,
    labels: Record<string, string>,
    node: string,
    ips: string[],
    namespace = 'default',
    hostNetwork = false,
  ) => {
    await cluster.client.create(PODS, {
      metadata: { name, namespace, labels },
      spec: { nodeName: node, hostNetwork, containers: [{ name: 'c', image: 'x' }] },
    } as never);
    if (ips.length > 0)
      await cluster.kc.makeApiClient(CoreV1Api).patchNamespacedPodStatus(
        {
          name,
          namespace,
          body: { status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), phase: 'Running' } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
  };
  const slices = async (namespace = 'default') =>
    (await cluster.client.list<SliceObj>(EGRESS_ENDPOINT_SLICES, { namespace })).items.sort((a, b) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
  const clusterSlices = async () =>
    (await cluster.client.list<SliceObj>(EGRESS_CLUSTER_ENDPOINT_SLICES)).items;
  const podsIn = (list: SliceObj[]) => list.flatMap((s) => (s.endpoints ?? []).map((e) => e.pod)).sort();

  beforeEach(async () => {
    cluster = await startCluster();
  });
  afterEach(async () => {
    await cluster.close();
  });

  describe('EndpointSliceSync with a manual clock', () => {
    let clock: ManualClock;
    let sync: EndpointSliceSync;
    let term: AbortController;
    let policies: Array<EgressPolicy & Obj>;
    let clusterPolicies: Array<EgressClusterPolicy & Obj>;
    let namespaces: Obj[];
    let gateways: EgressGateway[];
    let metrics: ReturnType<typeof createControllerMetrics>;
    const writes = async () => {
      const m = await metrics.endpointSliceWrites.get();
      return Object.fromEntries(m.values.map((v) => [`${v.labels.kind} ${v.labels.op}`, v.value]));
    };
    /** Lets the debounce expire and waits for the sync it starts. */
    const flush = async () => {
      await clock.advance(100);
      await sync.whenIdle();
    };

    beforeEach(async () => {
      clock = new ManualClock(Date.now());
      metrics = createControllerMetrics();
      policies = [];
      clusterPolicies = [];
      namespaces = [];
      gateways = [];
      sync = new EndpointSliceSync({
        client: cluster.client,
        clock,
        log: (await import('@egressgateway/kube')).silentLogger,
        metrics,
        maxPerSlice: 2,
        debounceMs: 100,
        policies: () => policies,
        clusterPolicies: () => clusterPolicies,
        namespaces: () => namespaces,
        gateways: () => gateways,
      });
      sync.start();
      await sync.waitForSync();
      term = new AbortController();
    });
    afterEach(async () => {
      term.abort();
      await sync.whenIdle();
      await sync.stop();
    });

    it('writes the selected pods with an address, split at the limit, labelled and owned; one sync for a burst', async () => {
      policies.push(
        await cluster.client.create<EgressPolicy & Obj>(EGRESS_POLICIES, {
          metadata: { name: 'web', namespace: 'default' },
          spec: { egressGatewayName: 'egw1', appliedTo: { podSelector: { matchLabels: { app: 'web' } } } },
        } as never),
      );
      await Promise.all([
        createPod('w1', { app: 'web' }, 'n1', ['198.18.1.1', 'fd00::1:1']),
        createPod('w2', { app: 'web' }, 'n1', ['198.18.1.2']),
        createPod('w3', { app: 'web' }, 'n2', ['198.18.2.3']),
        createPod('w4', { app: 'web' }, 'n2', ['198.18.2.4']),
        createPod('w5', { app: 'web' }, 'n2', ['198.18.2.5']),
        createPod('pending', { app: 'web' }, 'n2', []),
        createPod('hostnet', { app: 'web' }, 'n1', ['198.18.0.11'], 'default', true),
        createPod('db', { app: 'db' }, 'n1', ['198.18.1.9']),
      ]);
      await eventually('pods cached', () => (sync.pods.list().length === 8 ? true : undefined));
      await eventually('pod addresses cached', () =>
        sync.pods.list().filter((p) => p.status?.podIPs).length === 7 ? true : undefined,
      );
      // A standby keeps the membership warm (a new leader rescans nothing) and writes nothing.
      sync.trigger();
      await flush();
      expect(sync.endpointsOf('default/web')).toBe(5);
      expect(await slices()).toEqual([]);
      sync.lead(term.signal);
      await eventually('pod addresses cached', () =>
        sync.pods.list().filter((p) => p.status?.podIPs).length === 7 ? true : undefined,
      );
      expect(await slices()).toEqual([]); // the debounce has not expired
      await flush();
      const got = await slices();
      expect(got.map((s) => s.metadata.name)).toEqual(['web-0', 'web-1', 'web-2']);
      expect(got.map((s) => s.endpoints?.length)).toEqual([2, 2, 1]);
      expect(podsIn(got)).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
      expect(got[0]?.endpoints?.[0]).toEqual({
        ns: 'default',
        pod: 'w1',
        node: 'n1',
        ipv4: ['198.18.1.1'],
        ipv6: ['fd00::1:1'],
      });
      for (const s of got) {
        expect(s.metadata.labels).toEqual({
          'spidernet.io/policy-name': 'web',
          'egressgateway.spidernet.io/gateway': 'egw1',
        });
        expect(s.metadata.ownerReferences).toMatchObject([
          { kind: 'EgressPolicy', name: 'web', uid: policies[0]?.metadata?.uid, controller: true },
        ]);
      }
      // One sync wrote the burst: three creates, nothing else.
      expect(await writes()).toEqual({ 'EgressEndpointSlice create': 3 });
      // Nothing changed: the next sync writes nothing.
      sync.trigger();
      await flush();
      expect(await writes()).toEqual({ 'EgressEndpointSlice create': 3 });
    });

    it('follows pod changes by rewriting only the slice concerned, and deletes a slice left empty', async () => {
      policies.push(
        await cluster.client.create<EgressPolicy & Obj>(EGRESS_POLICIES, {
          metadata: { name: 'web', namespace: 'default' },
          spec: { egressGatewayName: 'egw1', appliedTo: { podSelector: { matchLabels: { app: 'web' } } } },
        } as never),
      );
      for (const i of [1, 2, 3]) await createPod(`w${i}`, { app: 'web' }, 'n1', [`198.18.1.${i}`]);
      sync.lead(term.signal);
      await eventually('3 addressed pods cached', () =>
        sync.pods.list().filter((p) => p.status?.podIPs).length === 3 ? true : undefined,
      );
      await flush();
      expect((await slices()).map((s) => s.endpoints?.length)).toEqual([2, 1]);
      // w3 relabelled out: its slice (web-1) empties and goes; web-0 is not touched.
      const web0 = (await slices())[0]?.metadata.resourceVersion;
      await cluster.client.patchMerge(PODS, 'w3', 'default', { metadata: { labels: { app: 'other' } } });
      await eventually('w3 out', () => (sync.endpointsOf('default/web') === 2 ? true : undefined));
      await flush();
      const after = await slices();
      expect(after.map((s) => s.metadata.name)).toEqual(['web-0']);
      expect(after[0]?.metadata.resourceVersion).toBe(web0);
      // w1 deleted: web-0 rewritten with w2 only.
      await cluster.client.delete(PODS, 'w1', 'default');
      await eventually('w1 gone', () => (sync.endpointsOf('default/web') === 1 ? true : undefined));
      await flush();
      expect(podsIn(await slices())).toEqual(['w2']);
      expect(await writes()).toEqual({
        'EgressEndpointSlice create': 2,
        'EgressEndpointSlice delete': 1,
        'EgressEndpointSlice update': 1,
      });
    });

    it('a cluster policy selects across namespaces through namespace labels; slices of a gone policy are deleted', async () => {
      await cluster.client.create(NAMESPACES, {
        metadata: { name: 'team1', labels: { egress: 'on' } },
      } as never);
      await cluster.client.create(NAMESPACES, { metadata: { name: 'team2' } } as never);
      namespaces.push(
        { metadata: { name: 'team1', labels: { egress: 'on' } } },
        { metadata: { name: 'team2' } },
      );
      clusterPolicies.push(
        await cluster.client.create<EgressClusterPolicy & Obj>(EGRESS_CLUSTER_POLICIES, {
          metadata: { name: 'all' },
          spec: {
            egressGatewayName: 'egw1',
            appliedTo: {
              podSelector: { matchLabels: { app: 'web' } },
              namespaceSelector: { matchLabels: { egress: 'on' } },
            },
          },
        } as never),
      );
      await createPod('a', { app: 'web' }, 'n1', ['198.18.1.1'], 'team1');
      await createPod('b', { app: 'web' }, 'n1', ['198.18.1.2'], 'team2');
      sync.lead(term.signal);
      await eventually('pods cached', () =>
        sync.pods.list().filter((p) => p.status?.podIPs).length === 2 ? true : undefined,
      );
      await flush();
      expect(podsIn(await clusterSlices())).toEqual(['a']);
      (namespaces[1] as { metadata: { labels?: Record<string, string> } }).metadata.labels = { egress: 'on' };
      sync.trigger();
      await flush();
      expect(podsIn(await clusterSlices())).toEqual(['a', 'b']);
      clusterPolicies.length = 0;
      sync.trigger();
      await flush();
      expect(await clusterSlices()).toEqual([]);
    });

    it('without egressGatewayName the gateway label comes from the status and stays while the EIP is placed nowhere', async () => {
      policies.push(
        await cluster.client.create<EgressPolicy & Obj>(EGRESS_POLICIES, {
          metadata: { name: 'web', namespace: 'default' },
          spec: { appliedTo: { podSelector: { matchLabels: { app: 'web' } } } },
        } as never),
      );
      const placed = (node: string): EgressGateway => ({
        metadata: { name: 'dflt' },
        spec: { ippools: { ipv4: ['198.18.0.50'] }, nodeSelector: { selector: { matchLabels: {} } } },
        status: {
          nodeList: [
            {
              name: node,
              eips: [{ ipv4: '198.18.0.50', policies: [{ name: 'web', namespace: 'default' }] }],
            },
          ],
        },
      });
      gateways.push(placed('gw1'));
      await createPod('w1', { app: 'web' }, 'n1', ['198.18.1.1']);
      sync.lead(term.signal);
      await eventually('pod cached', () => (sync.pods.list()[0]?.status?.podIPs ? true : undefined));
      await flush();
      const label = async () => (await slices())[0]?.metadata.labels?.['egressgateway.spidernet.io/gateway'];
      expect(await label()).toBe('dflt');
      gateways.length = 0; // mid-failover: no node holds the EIP
      sync.trigger();
      await flush();
      expect(await label()).toBe('dflt');
      gateways.push(placed('gw2'));
      sync.trigger();
      await flush();
      expect(await writes()).toEqual({ 'EgressEndpointSlice create': 1 });
    });

    it('recreates a slice deleted behind its back, and a new leader adopts the slices it finds', async () => {
      policies.push(
        await cluster.client.create<EgressPolicy & Obj>(EGRESS_POLICIES, {
          metadata: { name: 'web', namespace: 'default' },
          spec: { egressGatewayName: 'egw1', appliedTo: { podSelector: { matchLabels: { app: 'web' } } } },
        } as never),
      );
      await createPod('w1', { app: 'web' }, 'n1', ['198.18.1.1']);
      sync.lead(term.signal);
      await eventually('pod cached', () => (sync.pods.list()[0]?.status?.podIPs ? true : undefined));
      await flush();
      await cluster.client.delete(EGRESS_ENDPOINT_SLICES, 'web-0', 'default');
      await eventually('deletion seen', () => (sync.slices.list().length === 0 ? true : undefined));
      await flush();
      expect(podsIn(await slices())).toEqual(['w1']);
      // A second sync (another replica) taking over finds the slice as it should be: no write.
      const before = await writes();
      const other = new EndpointSliceSync({
        client: cluster.client,
        clock,
        log: (await import('@egressgateway/kube')).silentLogger,
        metrics,
        maxPerSlice: 2,
        policies: () => policies,
        clusterPolicies: () => [],
        namespaces: () => [],
        gateways: () => [],
      });
      other.start();
      await other.waitForSync();
      term.abort();
      const term2 = new AbortController();
      other.lead(term2.signal);
      await clock.advance(100);
      await other.whenIdle();
      expect(await writes()).toEqual(before);
      term2.abort();
      await other.stop();
    });
  });

  it('without the slice CRDs (an upgrade that skipped them) the controller still syncs, so failover and admission run', async () => {
    const server = await startApiServer({});
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of customResourceDefinitions())
      if (!crd.spec.names.kind.endsWith('EndpointSlice')) await objects.create(crd as never);
    const controller = new EgressController({ client: new KubeClient(kc), settings: testSettings() });
    controller.start();
    try {
      await controller.waitForSync();
      expect(controller.synced()).toBe(true);
      expect(controller.endpointSlices.synced()).toBe(false);
    } finally {
      await controller.stop();
      await server.close();
    }
  });

  it('the controller keeps them while leading, and they go with their policy', async () => {
    const controller = new EgressController({
      client: cluster.client,
      settings: testSettings(),
      endpointSlices: { maxPerSlice: 100, debounceMs: 20 },
    });
    controller.start();
    await controller.waitForSync();
    const term = new AbortController();
    try {
      await cluster.client.create(EGRESS_POLICIES, {
        metadata: { name: 'web', namespace: 'default' },
        spec: { egressGatewayName: 'egw1', appliedTo: { podSelector: { matchLabels: { app: 'web' } } } },
      } as never);
      await createPod('w1', { app: 'web' }, 'n1', ['198.18.1.1']);
      void controller.lead(term.signal);
      await eventually('slice written', async () => (podsIn(await slices()).length === 1 ? true : undefined));
      await createPod('w2', { app: 'web' }, 'n2', ['198.18.2.2']);
      await eventually('w2 added', async () =>
        podsIn(await slices()).join() === 'w1,w2' ? true : undefined,
      );
      await cluster.client.delete(EGRESS_POLICIES, 'web', 'default');
      await eventually('slices removed with the policy', async () =>
        (await slices()).length === 0 ? true : undefined,
      );
    } finally {
      term.abort();
      await controller.stop();
    }
  });
});
