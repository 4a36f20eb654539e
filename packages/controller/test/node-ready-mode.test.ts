// feature.gatewayFailover.enable: false (upstream's node-ready mode, pkg/controller/tunnel/egress_tunnel.go:
// with failover off the tunnel phase is taken from the Node's Ready condition and heartbeats are
// never timed out). No agent runs in these tests: nothing heartbeats.
import type { EgressGateway, EgressTunnel } from '@egressgateway/crds';
import { EGRESS_GATEWAYS, EGRESS_POLICIES, EGRESS_TUNNELS } from '@egressgateway/kube';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressController } from '../src/controller.js';
import {
  createNodes,
  eventually,
  gateway,
  holderOf,
  policy,
  startCluster,
  type TestCluster,
  testSettings,
} from './harness.js';

const phases = async (cluster: TestCluster) =>
  Object.fromEntries(
    (await cluster.client.list<EgressTunnel & { metadata: { name: string } }>(EGRESS_TUNNELS)).items.map(
      (t) => [t.metadata.name, t.status?.phase],
    ),
  );

const holder = async (cluster: TestCluster) =>
  holderOf((await cluster.client.list<EgressGateway>(EGRESS_GATEWAYS)).items[0]);

describe('gateway failover off (node-ready mode) against the embedded API server', () => {
  let cluster: TestCluster;
  let controller: EgressController;
  let term: AbortController;

  const begin = async (gatewayFailover: boolean | undefined) => {
    controller = new EgressController({
      client: cluster.client,
      settings: testSettings({ eipEvictionTimeoutMs: 300 }),
      ...(gatewayFailover === undefined ? {} : { gatewayFailover }),
    });
    controller.start();
    await controller.waitForSync();
    void controller.lead(term.signal);
  };

  beforeEach(async () => {
    cluster = await startCluster();
    await createNodes(cluster, ['node1', 'node2']);
    await cluster.client.create(EGRESS_GATEWAYS, gateway());
    await cluster.client.create(EGRESS_POLICIES, policy());
    term = new AbortController();
  });

  afterEach(async () => {
    term.abort();
    await controller.stop();
    await cluster.close();
  });

  it('tunnels of Ready nodes are Ready without any heartbeat, and a NotReady node gives up the EIP', async () => {
    await begin(false);
    await eventually('both Ready', async () => {
      const p = await phases(cluster);
      return p.node1 === 'Ready' && p.node2 === 'Ready';
    });
    const first = await eventually('EIP assigned', () => holder(cluster));
    // Several eviction timeouts later still no HeartbeatTimeout: heartbeats are not timed out.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await phases(cluster)).toEqual({ node1: 'Ready', node2: 'Ready' });
    expect(await holder(cluster)).toBe(first);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    await core.patchNodeStatus(
      { name: first, body: { status: { conditions: [{ type: 'Ready', status: 'False' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('NodeNotReady', async () => (await phases(cluster))[first] === 'NodeNotReady');
    const other = first === 'node1' ? 'node2' : 'node1';
    await eventually('EIP moved', async () => (await holder(cluster)) === other);
  });

  it('by default (heartbeat failover) the same cluster without heartbeats has no Ready tunnel', async () => {
    await begin(undefined);
    await eventually('tunnels created', async () => Object.keys(await phases(cluster)).length === 2);
    await new Promise((r) => setTimeout(r, 500));
    const p = await phases(cluster);
    expect(p.node1).not.toBe('Ready');
    expect(p.node2).not.toBe('Ready');
    expect(await holder(cluster)).toBeUndefined();
  });
});
