import type { EgressClusterInfo } from '@egressgateway/crds';
import { EGRESS_CLUSTER_INFOS, EventRecorder, type EventSink, NODES } from '@egressgateway/kube';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALICO_IPPOOLS } from '../src/cluster-info.js';
import { EgressController } from '../src/controller.js';
import { eventually, startCluster, type TestCluster, testSettings } from './harness.js';

const nodeWith = (name: string, ip: string, podCIDR: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: { podCIDRs: [podCIDR] },
  status: {
    conditions: [{ type: 'Ready', status: 'True' }],
    addresses: [{ type: 'InternalIP', address: ip }],
  },
});

const calicoCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'ippools.crd.projectcalico.org' },
  spec: {
    group: 'crd.projectcalico.org',
    scope: 'Cluster',
    names: { plural: 'ippools', singular: 'ippool', kind: 'IPPool', listKind: 'IPPoolList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', properties: { cidr: { type: 'string' } } } },
          },
        },
      },
    ],
  },
};

describe('EgressClusterInfo detection against the embedded API server', () => {
  let cluster: TestCluster;
  let controller: EgressController;
  let term: AbortController;
  let recorded: Array<{
    type?: string;
    reason?: string;
    message?: string;
    involvedObject?: { name?: string };
  }>;
  let events: EventRecorder;

  const info = async () =>
    (
      await cluster.client.list<EgressClusterInfo & { metadata: { name: string } }>(EGRESS_CLUSTER_INFOS)
    ).items.find((i) => i.metadata.name === 'default');

  beforeEach(async () => {
    cluster = await startCluster();
    await cluster.client.create(NODES, nodeWith('node1', '198.18.0.11', '198.18.64.0/24'));
    recorded = [];
    const sink: EventSink = {
      create: async (_ns, e) => {
        recorded.push(e as (typeof recorded)[number]);
        return { name: `e${recorded.length}` };
      },
      patch: async () => {},
    };
    events = new EventRecorder(sink, { component: 'test', instance: 'test' });
    controller = new EgressController({
      client: cluster.client,
      settings: testSettings(),
      events,
      clusterInfoResyncMs: 100,
    });
    controller.start();
    await controller.waitForSync();
    term = new AbortController();
  });

  afterEach(async () => {
    term.abort();
    await controller.stop();
    await cluster.close();
  });

  it('creates default with upstream spec defaults and fills node IPs and pod CIDRs (k8s), nothing before leading', async () => {
    await new Promise((r) => setTimeout(r, 200));
    expect(await info()).toBeUndefined(); // a non-leader writes nothing
    void controller.lead(term.signal);
    const got = await eventually('status written', async () => {
      const i = await info();
      return i?.status?.nodeIP ? i : undefined;
    });
    expect(got.spec).toEqual({
      autoDetect: { podCidrMode: 'auto', clusterIP: true, nodeIP: true },
      extraCidr: [],
    });
    expect(got.status?.podCidrMode).toBe('k8s');
    expect(got.status?.podCIDR).toEqual({ k8s: { ipv4: ['198.18.64.0/24'] } });
    expect(got.status?.nodeIP).toEqual({ node1: { ipv4: ['198.18.0.11'] } });
    // The embedded server serves no ServiceCIDR API: the range is not guessed, and a Warning says so.
    expect(got.status?.clusterIP).toBeUndefined();
    await events.flush();
    const warnings = recorded.filter((e) => e.reason === 'ClusterInfoSourceMissing');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.type).toBe('Warning');
    expect(warnings[0]?.involvedObject?.name).toBe('default');
    expect(warnings[0]?.message).toMatch(/ServiceCIDR.*spec\.extraCidr/);
  });

  it('with clusterIP detection off, no service range is wanted and no Warning is recorded', async () => {
    await cluster.client.create(EGRESS_CLUSTER_INFOS, {
      metadata: { name: 'default' },
      spec: { autoDetect: { clusterIP: false, podCidrMode: 'k8s', nodeIP: true } },
    } as never);
    void controller.lead(term.signal);
    await eventually('status written', async () => (await info())?.status?.nodeIP?.node1);
    await events.flush();
    expect(recorded.filter((e) => e.reason === 'ClusterInfoSourceMissing')).toEqual([]);
  });

  it('keeps the status current as nodes come and go and extraCidr changes', async () => {
    void controller.lead(term.signal);
    await eventually('node1 listed', async () => (await info())?.status?.nodeIP?.node1);
    await cluster.client.create(NODES, nodeWith('node2', '198.18.0.12', '198.18.65.0/24'));
    await eventually('node2 listed', async () => (await info())?.status?.nodeIP?.node2);
    expect((await info())?.status?.podCIDR?.k8s?.ipv4).toEqual(['198.18.64.0/24', '198.18.65.0/24']);
    await cluster.client.delete(NODES, 'node1');
    const after = await eventually('node1 dropped', async () => {
      const i = await info();
      return i?.status?.nodeIP && !i.status.nodeIP.node1 ? i : undefined;
    });
    expect(after.status?.nodeIP).toEqual({ node2: { ipv4: ['198.18.0.12'] } });
    await cluster.client.patchMerge(EGRESS_CLUSTER_INFOS, 'default', undefined, {
      spec: { extraCidr: ['203.0.113.0/24'] },
    });
    await eventually(
      'extraCidr copied',
      async () => (await info())?.status?.extraCidr?.[0] === '203.0.113.0/24',
    );
  });

  it('auto mode uses Calico IPPools when that API exists', async () => {
    await cluster.objects.create(calicoCrd as never);
    await eventually('ippool API served', async () => {
      try {
        await cluster.client.create(CALICO_IPPOOLS, {
          metadata: { name: 'pool-a' },
          spec: { cidr: '198.18.96.0/19' },
        } as never);
        return true;
      } catch {
        return undefined;
      }
    });
    void controller.lead(term.signal);
    const got = await eventually('calico status', async () => {
      const i = await info();
      return i?.status?.podCidrMode === 'calico' ? i : undefined;
    });
    expect(got.status?.podCIDR).toEqual({ 'pool-a': { ipv4: ['198.18.96.0/19'] } });
    // A pool added later (listed, not watched) appears at the next re-detection; one removed goes.
    await cluster.client.create(CALICO_IPPOOLS, {
      metadata: { name: 'pool-b' },
      spec: { cidr: 'fd00:96::/48' },
    } as never);
    await eventually('pool-b listed', async () => (await info())?.status?.podCIDR?.['pool-b']);
    await cluster.client.delete(CALICO_IPPOOLS, 'pool-a');
    const after = await eventually('pool-a dropped', async () => {
      const i = await info();
      return i?.status?.podCIDR && !i.status.podCIDR['pool-a'] ? i : undefined;
    });
    expect(after.status?.podCIDR).toEqual({ 'pool-b': { ipv6: ['fd00:96::/48'] } });
  });
});
