import {
  type EgressGateway,
  formatPeerClaims,
  PEER_CLAIM_ANNOTATION,
  type PeerClaim,
} from '@egressgateway/crds';
import { EGRESS_GATEWAYS, EGRESS_POLICIES, EGRESS_TUNNELS } from '@egressgateway/kube';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressController } from '../src/controller.js';
import { createControllerMetrics } from '../src/metrics.js';
import {
  createNodes,
  eventually,
  FakeAgents,
  gateway,
  holderOf,
  policy,
  startCluster,
  type TestCluster,
  testSettings,
} from './harness.js';

// A long eviction timeout: within a test, only a claim can move the EIP.
const settings = testSettings({ eipEvictionTimeoutMs: 60_000 });

describe('controller: peer claims against the embedded API server', () => {
  let cluster: TestCluster;
  let controller: EgressController;
  let agents: FakeAgents;
  let term: AbortController;
  let metrics: ReturnType<typeof createControllerMetrics>;

  beforeEach(async () => {
    cluster = await startCluster();
    await createNodes(cluster, ['node1', 'node2']);
    await cluster.client.create(EGRESS_GATEWAYS, gateway());
    await cluster.client.create(EGRESS_POLICIES, policy());
    metrics = createControllerMetrics();
    controller = new EgressController({ client: cluster.client, settings, metrics });
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

  async function claim(node: string, claims: PeerClaim[]): Promise<void> {
    await cluster.client.patchMerge(EGRESS_TUNNELS, node, undefined, {
      metadata: { annotations: { [PEER_CLAIM_ANNOTATION]: formatPeerClaims(claims) } },
    });
  }

  const count = async (result: string) =>
    (await metrics.peerClaims.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  async function placed(): Promise<{ holder: string; other: string; gw: EgressGateway }> {
    const holder = await eventually('EIP assigned and both nodes Ready', () => {
      const gw = controller.gateways.get('egw1');
      const ready = (gw?.status?.nodeList ?? []).filter((n) => n.status === 'Ready').length === 2;
      // The gateway status and the tunnel phases are written concurrently: wait for both.
      const phases = ['node1', 'node2'].every((n) => controller.tunnels.get(n)?.status?.phase === 'Ready');
      return ready && phases ? holderOf(gw) : undefined;
    });
    const gw = controller.gateways.get('egw1') as EgressGateway;
    return { holder, other: holder === 'node1' ? 'node2' : 'node1', gw };
  }

  const eipOf = (gw: EgressGateway) => {
    const e = (gw.status?.nodeList ?? [])
      .flatMap((n) => n.eips ?? [])
      .find((x) => (x.policies ?? []).length > 0);
    return { ipv4: e?.ipv4 ?? '', ipv6: e?.ipv6 ?? '' };
  };

  it('moves the EIP to the claimant at once while the old holder still heartbeats; the policy follows', async () => {
    const { holder, other, gw } = await placed();
    await claim(other, [
      {
        gateway: 'egw1',
        ...eipOf(gw),
        from: holder,
        gatewayResourceVersion: gw.metadata?.resourceVersion ?? '',
      },
    ]);
    await eventually(
      'the EIP recorded on the claimant',
      () => (holderOf(controller.gateways.get('egw1')) === other ? true : undefined),
      5_000,
    );
    await eventually('the policy follows', () =>
      controller.policies.get('default/policy1')?.status?.node === other ? true : undefined,
    );
    // The old holder never stopped heartbeating: its tunnel is still Ready.
    expect(controller.tunnels.get(holder)?.status?.phase).toBe('Ready');
    expect(await count('followed')).toBe(1);
    // The same claim, judged again by later reconciles, is recorded once and never moves the EIP back.
    await eventually('recorded', async () => ((await count('recorded')) === 1 ? true : undefined));
    expect(holderOf(controller.gateways.get('egw1'))).toBe(other);
  });

  it('ignores a stale claim (from another node, or an older gateway version) and one naming an EIP not in use', async () => {
    const { holder, other, gw } = await placed();
    const rv = gw.metadata?.resourceVersion ?? '';
    await claim(other, [{ gateway: 'egw1', ...eipOf(gw), from: other, gatewayResourceVersion: rv }]);
    await eventually('stale counted', async () => ((await count('stale')) === 1 ? true : undefined));
    await claim(other, [{ gateway: 'egw1', ...eipOf(gw), from: holder, gatewayResourceVersion: `${rv}0` }]);
    await eventually('stale counted again', async () => ((await count('stale')) === 2 ? true : undefined));
    await claim(other, [{ gateway: 'egw1', ipv4: 'nonsense', ipv6: '', from: holder }]);
    await eventually('unknown counted', async () => ((await count('unknown')) === 1 ? true : undefined));
    expect(await count('followed')).toBe(0);
    expect(holderOf(controller.gateways.get('egw1'))).toBe(holder);
  });

  it('ignores a claim of a node that is not Ready in its view', async () => {
    const { holder, other, gw } = await placed();
    await cluster.kc
      .makeApiClient(CoreV1Api)
      .patchNodeStatus(
        { name: other, body: { status: { conditions: [{ type: 'Ready', status: 'False' }] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await eventually('claimant not ready', () =>
      controller.tunnels.get(other)?.status?.phase === 'NodeNotReady' ? true : undefined,
    );
    const now = controller.gateways.get('egw1') as EgressGateway;
    await claim(other, [
      {
        gateway: 'egw1',
        ...eipOf(gw),
        from: holder,
        gatewayResourceVersion: now.metadata?.resourceVersion ?? '',
      },
    ]);
    await eventually('ineligible counted', async () =>
      (await count('ineligible')) === 1 ? true : undefined,
    );
    expect(holderOf(controller.gateways.get('egw1'))).toBe(holder);
  });

  it('logs a malformed annotation once and moves nothing', async () => {
    const { holder, other } = await placed();
    await cluster.client.patchMerge(EGRESS_TUNNELS, other, undefined, {
      metadata: { annotations: { [PEER_CLAIM_ANNOTATION]: '{not json' } },
    });
    await eventually('malformed counted', async () => ((await count('malformed')) === 1 ? true : undefined));
    expect(holderOf(controller.gateways.get('egw1'))).toBe(holder);
  });
});
