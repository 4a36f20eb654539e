/**
 * An exhausted `rr` pool is visible (issue 19): upstream refuses an rr policy once its gateway's pool
 * is used up; we give it the least-used pair and say so in the gateway status (`ipUsage` free 0 and
 * the pair listing every policy on it), a `PoolShared` Warning Event on each sharing policy, and the
 * gauge `egw_rr_policies_sharing_eip{gateway}`. Against the embedded API server, with the real
 * Event sink.
 */
import type { EgressGateway, EgressPolicy } from '@egressgateway/crds';
import { EGRESS_GATEWAYS, EGRESS_POLICIES, EventRecorder, KubeEventSink } from '@egressgateway/kube';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressController } from '../src/controller.js';
import { createControllerMetrics } from '../src/metrics.js';
import {
  createNodes,
  eventually,
  FakeAgents,
  startCluster,
  type TestCluster,
  testSettings,
} from './harness.js';

const EVENTS = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };

const gateway = (ipv4: string[]) => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name: 'egw1' },
  spec: {
    ippools: { ipv4, ipv4DefaultEIP: ipv4[0]?.split('-')[0] },
    nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
  },
});

const rrPolicy = (name: string) => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressPolicy',
  metadata: { name, namespace: 'default' },
  spec: {
    egressGatewayName: 'egw1',
    egressIP: { allocatorPolicy: 'rr', useNodeIP: false },
    appliedTo: { podSelector: { matchLabels: { app: name } } },
    destSubnet: ['203.0.113.0/24'],
  },
});

interface EventObj {
  metadata?: { name?: string };
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind: string; name: string; namespace?: string };
}

describe('an exhausted rr pool: status, Event and metric', () => {
  let cluster: TestCluster;
  let controller: EgressController;
  let agents: FakeAgents;
  let term: AbortController;
  let metrics: ReturnType<typeof createControllerMetrics>;

  beforeEach(async () => {
    cluster = await startCluster();
    await createNodes(cluster, ['node1', 'node2']);
    metrics = createControllerMetrics();
    controller = new EgressController({
      client: cluster.client,
      settings: testSettings(),
      metrics,
      events: new EventRecorder(new KubeEventSink(cluster.kc), { component: 'test', instance: 'test' }),
    });
    controller.start();
    await controller.waitForSync();
    term = new AbortController();
    void controller.lead(term.signal);
    agents = new FakeAgents(cluster.client, ['node1', 'node2'], 100);
    agents.start();
  });

  afterEach(async () => {
    agents.stop();
    term.abort();
    await controller.stop();
    await cluster.close();
  });

  const sharingGauge = async () =>
    (await metrics.rrSharing.get()).values.find((v) => v.labels.gateway === 'egw1')?.value;

  it('two addresses, three rr policies: free 0, one pair listing two policies, PoolShared on both, gauge 2', async () => {
    await cluster.client.create(EGRESS_GATEWAYS, gateway(['198.18.0.55-198.18.0.56']));
    for (const n of ['p1', 'p2', 'p3']) await cluster.client.create(EGRESS_POLICIES, rrPolicy(n));

    // The gateway status (upstream's schema): the pool is full and one pair lists two policies.
    const gw = await eventually('three policies placed', async () => {
      const g = await cluster.client.get<EgressGateway>(EGRESS_GATEWAYS, 'egw1');
      const placed = (g.status?.nodeList ?? []).flatMap((n) => n.eips ?? []);
      return placed.flatMap((e) => e.policies ?? []).length === 3 ? g : undefined;
    });
    expect(gw.status?.ipUsage).toEqual({ ipv4Total: 2, ipv4Free: 0, ipv6Total: 0, ipv6Free: 0 });
    const pairs = (gw.status?.nodeList ?? []).flatMap((n) => n.eips ?? []);
    expect(pairs.map((e) => (e.policies ?? []).map((p) => p.name).sort()).sort()).toEqual([
      ['p1', 'p3'],
      ['p2'],
    ]);
    // Each policy's own status names the pair it leaves with: two of them the same.
    const eips = await eventually('policy statuses', async () => {
      const list = await Promise.all(
        ['p1', 'p2', 'p3'].map((n) => cluster.client.get<EgressPolicy>(EGRESS_POLICIES, n, 'default')),
      );
      const v = list.map((p) => p.status?.eip?.ipv4);
      return v.every((x) => x) ? v : undefined;
    });
    expect(eips).toEqual(['198.18.0.55', '198.18.0.56', '198.18.0.55']);

    // A Warning Event on each sharing policy, naming the gateway and the fix.
    const events = await eventually('PoolShared events', async () => {
      const list = await cluster.client.list<EventObj>(EVENTS, { namespace: 'default' });
      const shared = list.items.filter((e) => e.reason === 'PoolShared');
      return shared.length >= 2 ? shared : undefined;
    });
    expect(events.map((e) => [e.type, e.involvedObject.kind, e.involvedObject.name]).sort()).toEqual([
      ['Warning', 'EgressPolicy', 'p1'],
      ['Warning', 'EgressPolicy', 'p3'],
    ]);
    expect(events[0]?.message).toMatch(
      /gateway egw1 has no unused EIP left for this rr policy: it shares 198\.18\.0\.55 with 1 other policy; add addresses to the gateway's spec\.ippools/,
    );
    expect(await sharingGauge()).toBe(2);

    // One sharer deleted: nobody shares any more and the gauge says 0 (the series stays).
    await cluster.client.delete(EGRESS_POLICIES, 'p3', 'default');
    await eventually('gauge back to 0', async () => ((await sharingGauge()) === 0 ? true : undefined));
    const after = await cluster.client.get<EgressGateway>(EGRESS_GATEWAYS, 'egw1');
    expect(after.status?.ipUsage?.ipv4Free).toBe(0);
    expect(
      (after.status?.nodeList ?? []).flatMap((n) => n.eips ?? []).map((e) => (e.policies ?? []).length),
    ).toEqual([1, 1]);
  }, 30_000);

  it('with room, rr policies get their own addresses: no event, gauge 0', async () => {
    await cluster.client.create(EGRESS_GATEWAYS, gateway(['198.18.0.55-198.18.0.58']));
    for (const n of ['p1', 'p2', 'p3']) await cluster.client.create(EGRESS_POLICIES, rrPolicy(n));
    const gw = await eventually('three placed', async () => {
      const g = await cluster.client.get<EgressGateway>(EGRESS_GATEWAYS, 'egw1');
      return g.status?.ipUsage?.ipv4Free === 1 ? g : undefined;
    });
    expect((gw.status?.nodeList ?? []).flatMap((n) => n.eips ?? []).length).toBe(3);
    expect(await sharingGauge()).toBe(0);
    const list = await cluster.client.list<EventObj>(EVENTS, { namespace: 'default' });
    expect(list.items.filter((e) => e.reason === 'PoolShared')).toEqual([]);
  }, 30_000);
});
