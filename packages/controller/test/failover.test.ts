import type { EgressPolicy, EgressTunnel } from '@egressgateway/crds';
import {
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  EGRESS_TUNNELS,
  HEARTBEAT_EVICTED_ANNOTATION,
  type HeartbeatLease,
  heartbeatLeaseEvicted,
  heartbeatLeaseName,
  type KubeClient,
  type KubeObject,
  LEASES,
  NODES,
  type ResourceRef,
} from '@egressgateway/kube';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressController } from '../src/controller.js';
import { createControllerMetrics } from '../src/metrics.js';
import {
  createNodes,
  eventually,
  FakeAgents,
  gateway,
  heartbeat,
  holderOf,
  policy,
  startCluster,
  type TestCluster,
  testSettings,
} from './harness.js';

const settings = testSettings({ eipEvictionTimeoutMs: 800 });

describe('controller against the embedded API server', () => {
  let cluster: TestCluster;
  let controller: EgressController;
  let agents: FakeAgents;
  let term: AbortController;

  beforeEach(async () => {
    cluster = await startCluster();
    await createNodes(cluster, ['node1', 'node2']);
    await cluster.client.create(EGRESS_GATEWAYS, gateway());
    await cluster.client.create(EGRESS_POLICIES, policy());
    controller = new EgressController({
      client: cluster.client,
      settings,
      metrics: createControllerMetrics(),
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

  it("replays the seed's story: the EIP moves on heartbeat timeout, never early, and does not move back", async () => {
    // Tunnels are created and allocated for both nodes.
    const tunnels = await eventually('two allocated tunnels', () => {
      const ts = controller.tunnels.list().filter((t) => t.status?.mark && t.status.tunnel?.mac);
      return ts.length === 2 ? ts : undefined;
    });
    expect(new Set(tunnels.map((t) => t.status?.mark)).size).toBe(2);
    for (const t of tunnels) expect(t.status?.mark).toMatch(/^0x26[0-9a-f]{6}$/);

    const first = await eventually('EIP assigned', () => holderOf(controller.gateways.get('egw1')));
    const other = first === 'node1' ? 'node2' : 'node1';
    const pol = await eventually('policy status', () => {
      const p = controller.policies.get('default/policy1') as EgressPolicy | undefined;
      return p?.status?.node === first ? p : undefined;
    });
    expect(pol.status?.eip).toEqual({ ipv4: '198.18.0.56', ipv6: 'fd00::55' });

    // The holder's agent stops heartbeating.
    agents.paused.add(first);
    const moved = await eventually('EIP moved', () => {
      const h = holderOf(controller.gateways.get('egw1'));
      return h === other ? h : undefined;
    });
    const movedAt = Date.now();
    expect(moved).toBe(other);
    const lastAck = agents.lastAck.get(first) ?? 0;
    // Never before the eviction timeout has passed since the last heartbeat the API acknowledged.
    expect(movedAt - lastAck).toBeGreaterThan(settings.eipEvictionTimeoutMs);
    expect((controller.tunnels.get(first) as EgressTunnel).status?.phase).toBe('HeartbeatTimeout');
    await eventually(
      'policy status follows',
      () => (controller.policies.get('default/policy1') as EgressPolicy | undefined)?.status?.node === other,
    );

    // The old node comes back: Ready again, and the EIP stays where it is.
    agents.paused.delete(first);
    await eventually(
      'tunnel Ready again',
      () => (controller.tunnels.get(first) as EgressTunnel | undefined)?.status?.phase === 'Ready',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(holderOf(controller.gateways.get('egw1'))).toBe(other);
  });

  it('a heartbeat landing between the decision and the eviction write stops the eviction and its move', async () => {
    const first = await eventually('EIP assigned', () => holderOf(controller.gateways.get('egw1')));
    await eventually(
      'both tunnels Ready',
      () =>
        controller.tunnels.list().length === 2 &&
        controller.tunnels.list().every((t) => t.status?.phase === 'Ready'),
    );
    // A leader whose client lets the paused agent's heartbeat land just before its first eviction
    // write, as a slow watch would: its view says the heartbeat is stale, the API does not.
    term.abort();
    await controller.stop();
    let racedAt: number | undefined;
    const racing = Object.create(cluster.client) as KubeClient;
    racing.patchMerge = async <T extends KubeObject>(
      ref: ResourceRef,
      name: string,
      namespace: string | undefined,
      patch: object,
    ): Promise<T> => {
      const marks = (patch as { metadata?: { annotations?: Record<string, unknown> } }).metadata?.annotations;
      if (ref.plural === 'leases' && marks?.[HEARTBEAT_EVICTED_ANNOTATION] && racedAt === undefined) {
        // The paused node's agent renews its Lease just before the controller marks it evicted.
        const node = name.replace('egressgateway-heartbeat-', '');
        await heartbeat(cluster.client, node);
        racedAt = Date.now();
      }
      return cluster.client.patchMerge<T>(ref, name, namespace, patch);
    };
    controller = new EgressController({ client: racing, settings });
    controller.start();
    await controller.waitForSync();
    term = new AbortController();
    void controller.lead(term.signal);
    agents.paused.add(first);
    const movedAt = await eventually('EIP moved', () =>
      holderOf(controller.gateways.get('egw1')) !== first ? Date.now() : undefined,
    );
    expect(racedAt).toBeDefined();
    const raced = racedAt ?? 0;
    // The first decision wrote nothing: no eviction and no gateway status until the late
    // heartbeat had its own full timeout.
    const early = controller.writeLog.filter(
      (w) =>
        w.at >= raced &&
        w.at < raced + settings.eipEvictionTimeoutMs &&
        (w.resource === 'egressgateways' ||
          (w.body as { phase?: string } | undefined)?.phase === 'HeartbeatTimeout'),
    );
    expect(early).toEqual([]);
    expect(movedAt - raced).toBeGreaterThan(settings.eipEvictionTimeoutMs);
  });

  it('an eviction does not wait for policy status writes: they follow in the background, one per policy at a time', async () => {
    // A leader whose policy status writes hang (a slow API server for them, or hundreds queued).
    term.abort();
    await controller.stop();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = 0;
    let mostAtOnce = 0;
    const slow = Object.create(cluster.client) as KubeClient;
    slow.patchStatus = async <T extends KubeObject>(
      ref: ResourceRef,
      name: string,
      namespace: string | undefined,
      patch: object,
    ): Promise<T> => {
      if (ref.plural === 'egresspolicies') {
        held++;
        mostAtOnce = Math.max(mostAtOnce, held);
        await gate;
        held--;
      }
      return cluster.client.patchStatus<T>(ref, name, namespace, patch);
    };
    controller = new EgressController({ client: slow, settings });
    controller.start();
    await controller.waitForSync();
    term = new AbortController();
    const leading = controller.lead(term.signal);
    const first = await eventually('EIP assigned', () => holderOf(controller.gateways.get('egw1')));
    await eventually('the policy status write started (and hangs)', () => (held === 1 ? true : undefined));
    agents.paused.add(first);
    // The eviction and the move are written while the policy's first write still hangs.
    await eventually('EIP moved', () =>
      holderOf(controller.gateways.get('egw1')) !== first ? true : undefined,
    );
    expect(controller.tunnels.get(first)?.status?.phase).toBe('HeartbeatTimeout');
    expect(held).toBe(1);
    expect((controller.policies.get('default/policy1') as EgressPolicy | undefined)?.status).toBeUndefined();
    // Released: the hung write lands, then the newer status (one write per policy at a time).
    release();
    const other = first === 'node1' ? 'node2' : 'node1';
    await eventually('policy status follows', () =>
      (controller.policies.get('default/policy1') as EgressPolicy | undefined)?.status?.node === other
        ? true
        : undefined,
    );
    expect(mostAtOnce).toBe(1);
    term.abort();
    await leading;
  });

  it('marks the evicted Lease before the eviction: a later renewal comes back evicted until the node is Ready again', async () => {
    const first = await eventually('EIP assigned', () => holderOf(controller.gateways.get('egw1')));
    const leaseOf = () =>
      cluster.client.get<HeartbeatLease>(LEASES, heartbeatLeaseName(first), 'kube-system');
    expect(heartbeatLeaseEvicted(await leaseOf())).toBe(false);
    agents.paused.add(first);
    await eventually('HeartbeatTimeout', () =>
      controller.tunnels.get(first)?.status?.phase === 'HeartbeatTimeout' ? true : undefined,
    );
    const marked = await leaseOf();
    // The mark names the renewal the eviction judged.
    expect(marked.metadata?.annotations?.[HEARTBEAT_EVICTED_ANNOTATION]).toBe(marked.spec?.renewTime);
    // The paused agent's renewal that lands now is acknowledged with the eviction: it must let go.
    const late = await heartbeat(cluster.client, first, marked);
    expect(heartbeatLeaseEvicted(late)).toBe(true);
    await eventually('EIP moved', () =>
      holderOf(controller.gateways.get('egw1')) !== first ? true : undefined,
    );
    agents.paused.delete(first);
    await eventually('Ready again and the mark lifted', async () =>
      controller.tunnels.get(first)?.status?.phase === 'Ready' && !heartbeatLeaseEvicted(await leaseOf())
        ? true
        : undefined,
    );
    // A recovered node takes nothing back.
    expect(holderOf(controller.gateways.get('egw1'))).not.toBe(first);
  });

  it('judges a node by its Lease once it has one (tunnel copies do not count), and an older agent without one by its tunnel', async () => {
    const first = await eventually('EIP assigned', () => holderOf(controller.gateways.get('egw1')));
    // An agent of an older version on node3: heartbeats are tunnel status writes, no Lease.
    await createNodes(cluster, ['node3']);
    const tunnelBeat = async (name: string) => {
      try {
        await cluster.client.patchStatus(EGRESS_TUNNELS, name, undefined, {
          status: { lastHeartbeatTime: new Date().toISOString() },
        });
      } catch {
        // node3's tunnel may not exist yet
      }
    };
    // The paused holder keeps writing lastHeartbeatTime (as a 30 s copy would, only faster).
    agents.paused.add(first);
    const beats = setInterval(() => {
      void tunnelBeat('node3');
      void tunnelBeat(first);
    }, 100);
    try {
      await eventually('the Lease-less node3 Ready', () =>
        controller.tunnels.get('node3')?.status?.phase === 'Ready' ? true : undefined,
      );
      await eventually('the paused holder evicted despite its tunnel writes', () =>
        controller.tunnels.get(first)?.status?.phase === 'HeartbeatTimeout' ? true : undefined,
      );
      // node3 stays Ready past several eviction timeouts on tunnel heartbeats alone.
      await new Promise((r) => setTimeout(r, 3 * settings.eipEvictionTimeoutMs));
      expect(controller.tunnels.get('node3')?.status?.phase).toBe('Ready');
    } finally {
      clearInterval(beats);
    }
  });

  it('deletes the heartbeat Lease of a removed node, and only that one', async () => {
    await eventually('EIP assigned', () => holderOf(controller.gateways.get('egw1')));
    const leaseExists = (n: string) =>
      cluster.client.get(LEASES, heartbeatLeaseName(n), 'kube-system').then(
        () => true,
        () => false,
      );
    await eventually('both Leases', async () => (await leaseExists('node1')) && (await leaseExists('node2')));
    // node2 is removed from the cluster (its agent gone with it).
    agents.paused.add('node2');
    await cluster.client.delete(NODES, 'node2');
    await eventually('node2 Lease deleted', async () => !(await leaseExists('node2')));
    await new Promise((r) => setTimeout(r, 300));
    expect(await leaseExists('node1')).toBe(true);
    expect(await leaseExists('node2')).toBe(false);
  });

  it('writes nothing in steady state while heartbeats are healthy', async () => {
    await eventually('EIP assigned', () => holderOf(controller.gateways.get('egw1')));
    await eventually(
      'both tunnels Ready',
      () =>
        controller.tunnels.list().every((t) => t.status?.phase === 'Ready') &&
        controller.tunnels.list().length === 2,
    );
    await new Promise((r) => setTimeout(r, 300));
    const before = controller.writeLog.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(controller.writeLog.slice(before)).toEqual([]);
  });
});
