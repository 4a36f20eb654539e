import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { EgressController } from '@egressgateway/controller';
import {
  customResourceDefinitions,
  DRAINING_ANNOTATION,
  type EgressGateway,
  type EgressTunnel,
} from '@egressgateway/crds';
import {
  DEFAULT_HEARTBEAT_NAMESPACE,
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  EGRESS_TUNNELS,
  HEARTBEAT_EVICTED_ANNOTATION,
  HEARTBEAT_READER_ANNOTATION,
  type HeartbeatLease,
  heartbeatLeaseName,
  KubeClient,
  LEASES,
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
import type { EgressLinkState, EgressLinkWatcher } from '../src/link-guard.js';
import { eventually, PartitionProxy, RecordingBinder } from './harness.js';

const EVICT = 1500;
const UPDATE = 200;
const MARGIN = 400;
const EIP = '198.18.0.50';

interface Node {
  name: string;
  agent: EgressAgent;
  binder: RecordingBinder;
  proxy: PartitionProxy;
  link: FakeLink;
}

/** The egress interface as a link watcher reports it, switched by the test. */
class FakeLink {
  private onChange: ((s: EgressLinkState) => void) | undefined;
  state: EgressLinkState = { usable: true };
  readonly watch: EgressLinkWatcher = async (_ifname, onChange) => {
    this.onChange = onChange;
    const link = this;
    return {
      get state() {
        return link.state;
      },
      close: () => {
        this.onChange = undefined;
      },
    };
  };
  set(state: EgressLinkState): void {
    this.state = state;
    this.onChange?.(state);
  }
}

function holder(gw: EgressGateway | undefined): string | undefined {
  return gw?.status?.nodeList?.find((n) => (n.eips ?? []).some((e) => e.ipv4 === EIP))?.name;
}

describe('agent against the embedded API server and a live controller', () => {
  let server: ApiServer;
  let client: KubeClient;
  let controller: EgressController;
  let term: AbortController;
  const nodes: Node[] = [];

  const kubeConfigVia = (port: number) => {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml.replace(`:${server.port}`, `:${port}`));
    return kc;
  };

  beforeEach(async () => {
    server = await startApiServer({});
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    client = new KubeClient(kc);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of customResourceDefinitions()) await objects.create(crd as never);
    for (const [name, labels] of [
      ['gw1', { egress: 'true' }],
      ['gw2', { egress: 'true' }],
      ['wk', {}],
    ] as const) {
      await client.create(NODES, {
        metadata: { name, labels },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      } as never);
    }
    await client.create(EGRESS_GATEWAYS, {
      metadata: { name: 'egw1' },
      spec: {
        ippools: { ipv4: [EIP], ipv4DefaultEIP: EIP },
        nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
      },
    } as never);
    await client.create(EGRESS_POLICIES, {
      metadata: { name: 'p1', namespace: 'default' },
      spec: {
        egressGatewayName: 'egw1',
        appliedTo: { podSelector: { matchLabels: { app: 'web' } } },
        destSubnet: ['203.0.113.0/24'],
      },
    } as never);
    await client.create(PODS, {
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
      spec: { nodeName: 'wk', containers: [{ name: 'c', image: 'x' }] },
    } as never);
    // As a kubelet would: the pod's addresses go to its status subresource.
    await kc.makeApiClient(CoreV1Api).patchNamespacedPodStatus(
      {
        name: 'web',
        namespace: 'default',
        body: { status: { podIP: '198.19.1.2', podIPs: [{ ip: '198.19.1.2' }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    controller = new EgressController({
      client,
      settings: {
        eipEvictionTimeoutMs: EVICT,
        tunnelMonitorPeriodMs: 5000,
        rebalance: false,
        detection: 'deadline',
        tunnelIpv4Cidr: '198.19.255.0/24',
        tunnelIpv6Cidr: '',
      },
    });
    controller.start();
    await controller.waitForSync();
    term = new AbortController();
    void controller.lead(term.signal);
    for (const [i, name] of ['gw1', 'gw2', 'wk'].entries()) {
      const proxy = new PartitionProxy(server.port);
      // The default lease of a bind, as main() opens the DatapathBinder: eipLeaseMs = E - M.
      const binder = new RecordingBinder(EVICT - MARGIN);
      const link = new FakeLink();
      const agent = new EgressAgent({
        client: new KubeClient(kubeConfigVia(await proxy.listen())),
        binder,
        watchEgressLink: link.watch,
        settings: {
          nodeName: name,
          egressInterface: 'eth0',
          parent: { name: 'eth0', ipv4: `198.18.0.${11 + i}` },
          tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, ipv4Cidr: '198.19.255.0/24' },
          updatePeriodMs: UPDATE,
          evictionTimeoutMs: EVICT,
          fenceMarginMs: MARGIN,
        },
      });
      await agent.start();
      nodes.push({ name, agent, binder, proxy, link });
    }
  });

  afterEach(async () => {
    for (const n of nodes.splice(0)) {
      n.proxy.heal();
      await n.agent.stop({ handover: false });
      await n.proxy.close();
    }
    term.abort();
    await controller.stop();
    await server.close();
  });

  const node = (name: string) => nodes.find((n) => n.name === name) as Node;
  const settle = async () => {
    const h = await eventually('EIP placed', () => holder(controller.gateways.get('egw1')));
    await eventually('holder binds the EIP', () => node(h).binder.holds(EIP));
    return h;
  };

  it('heartbeats from gateway nodes only, with millisecond timestamps, and builds worker and gateway datapaths', async () => {
    const h = await settle();
    const other = h === 'gw1' ? 'gw2' : 'gw1';
    const beat = controller.tunnels.get(h)?.status?.lastHeartbeatTime ?? '';
    expect(beat).toMatch(/\.\d{3}Z$/);
    expect(node('wk').agent.heartbeats).toEqual([]);
    // Pods are cached as the view the rules read, without their container specs.
    const cached = node('wk').agent.pods.get('default/web');
    expect(cached?.spec).toEqual({ nodeName: 'wk' });
    expect(cached?.metadata).toMatchObject({ name: 'web', namespace: 'default', labels: { app: 'web' } });
    expect(controller.tunnels.get('wk')?.status?.lastHeartbeatTime).toBeUndefined();
    await eventually(
      'worker parent written',
      () => controller.tunnels.get('wk')?.status?.tunnel?.parent?.ipv4 === '198.18.0.13',
    );
    // The worker steers its pod to the holder's mark; the holder SNATs to the EIP.
    const mark = Number.parseInt(controller.tunnels.get(h)?.status?.mark ?? '', 16);
    await eventually('worker steering', () => node('wk').binder.current?.steering[0]?.mark === mark);
    expect(node('wk').binder.current?.steering[0]?.sources).toEqual(['198.19.1.2']);
    // The holder learns of the worker's pod from the controller's endpoint slice, a write later.
    await eventually('holder SNAT', () => node(h).binder.current?.snat.length === 1);
    expect(node(h).binder.current?.snat).toEqual([
      { id: 'default/p1', sources: ['198.19.1.2'], destinations: ['203.0.113.0/24'], eip: EIP },
    ]);
    expect(node(other).binder.current?.eips).toEqual([]);
    // Lease renewals follow acknowledged heartbeats and end at the fence deadline of the
    // heartbeat that allowed them (send time + eviction - margin), never later.
    await eventually('renewals', () => node(h).binder.calls.filter((c) => c.op === 'renew').length >= 2);
    const renewals = node(h).binder.calls.filter((c) => c.op === 'renew');
    for (const r of renewals) {
      const beat = node(h)
        .agent.heartbeats.filter((b) => b.ackAt <= r.at)
        .at(-1);
      expect(beat).toBeDefined();
      expect(r.lifetime).toBe(1);
      expect(r.leaseMs).toBeGreaterThan(0);
      expect(r.at + (r.leaseMs ?? 0)).toBeLessThanOrEqual((beat?.sentAt ?? 0) + EVICT - MARGIN + 1);
    }
  });

  it('binds an EIP with a lease that ends by the fence deadline of the last acknowledged heartbeat', async () => {
    // An agent killed right after a bind renews nothing: the lease given with the bind is all the
    // kernel has, so it must not outlast the deadline by which the agent would have fenced.
    const h = await settle();
    const binds = node(h).binder.calls.filter((c) => c.op === 'apply' && c.leaseEnd !== undefined);
    expect(binds.length).toBeGreaterThan(0);
    for (const b of binds) {
      const beat = node(h)
        .agent.heartbeats.filter((x) => x.ackAt <= (b.leaseEnd ?? 0) - (b.leaseMs ?? 0))
        .at(-1);
      expect(beat).toBeDefined();
      expect(b.leaseMs).toBeGreaterThan(0);
      expect(b.leaseEnd).toBeLessThanOrEqual((beat?.sentAt ?? 0) + EVICT - MARGIN + 1);
    }
  });

  it('self-fences under an API partition before the controller moves the EIP, and re-binds only as the status says', async () => {
    const h = await settle();
    const other = h === 'gw1' ? 'gw2' : 'gw1';
    const cut = node(h);
    cut.proxy.block();
    const blockedAt = Date.now();
    const withdrawnAt = await eventually(
      'fenced',
      () => cut.binder.calls.find((c) => c.op === 'withdrawEips' && c.at >= blockedAt)?.at,
    );
    expect(cut.agent.isFenced()).toBe(true);
    const movedAt = await eventually('EIP moved', () =>
      holder(controller.gateways.get('egw1')) === other ? Date.now() : undefined,
    );
    await eventually('new holder binds', () => node(other).binder.holds(EIP));
    // The old node let go before the controller moved the EIP: never two owners.
    expect(withdrawnAt).toBeLessThan(movedAt);
    expect(cut.binder.calls.filter((c) => c.op === 'renew' && c.at > blockedAt)).toEqual([]);
    // Healing: the node heartbeats again, lifts the fence, and binds nothing (the EIP moved on).
    cut.proxy.heal();
    await eventually('fence lifted', () => !cut.agent.isFenced(), 10_000);
    await cut.agent.whenApplied();
    expect(cut.binder.holds(EIP)).toBe(false);
  });

  it('heartbeats renew the Lease and leave the tunnels every agent watches unchanged in steady state', async () => {
    const h = await settle();
    await eventually('every tunnel Ready', () =>
      ['gw1', 'gw2'].every((n) => controller.tunnels.get(n)?.status?.phase === 'Ready') ? true : undefined,
    );
    // Let the first beats' one-off tunnel writes (parent, lastHeartbeatTime copy) settle.
    await new Promise((r) => setTimeout(r, 3 * UPDATE));
    const versions = () =>
      node('wk')
        .agent.tunnels.list()
        .map((t) => `${t.metadata?.name}@${t.metadata?.resourceVersion}`)
        .sort();
    const before = versions();
    const beats = node(h).agent.heartbeats.length;
    const lease = await client.get<HeartbeatLease>(
      LEASES,
      heartbeatLeaseName(h),
      DEFAULT_HEARTBEAT_NAMESPACE,
    );
    await new Promise((r) => setTimeout(r, 5 * UPDATE));
    // Several acknowledged beats, each a Lease renewal with its send time ...
    expect(node(h).agent.heartbeats.length).toBeGreaterThanOrEqual(beats + 3);
    const renewed = await client.get<HeartbeatLease>(
      LEASES,
      heartbeatLeaseName(h),
      DEFAULT_HEARTBEAT_NAMESPACE,
    );
    expect(renewed.spec?.holderIdentity).toBe(h);
    expect(renewed.spec?.leaseDurationSeconds).toBe(Math.ceil(EVICT / 1000));
    expect(Date.parse(renewed.spec?.renewTime ?? '')).toBeGreaterThan(
      Date.parse(lease.spec?.renewTime ?? ''),
    );
    // ... and not one tunnel changed in the worker's cache (lastHeartbeatTime is copied every 30 s).
    expect(versions()).toEqual(before);
  });

  it('until a controller marks its Lease read, the agent heartbeats through the tunnel too, and that write decides its fence (an older controller)', async () => {
    const h = await settle();
    const lease = () =>
      client.get<HeartbeatLease>(LEASES, heartbeatLeaseName(h), DEFAULT_HEARTBEAT_NAMESPACE);
    expect((await lease()).metadata?.annotations?.[HEARTBEAT_READER_ANNOTATION]).toBe('true');
    // An older controller: it neither reads nor marks Leases (the real one is stopped, the mark removed).
    term.abort();
    await controller.stop();
    await client.patchMerge(LEASES, heartbeatLeaseName(h), DEFAULT_HEARTBEAT_NAMESPACE, {
      metadata: { annotations: { [HEARTBEAT_READER_ANNOTATION]: null } },
    });
    const tunnelBeat = async () =>
      (await client.get<EgressTunnel>(EGRESS_TUNNELS, h)).status?.lastHeartbeatTime;
    // Every beat reaches the tunnel again (a new lastHeartbeatTime each update period, not every 30 s).
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 12; i++) {
      seen.add(await tunnelBeat());
      await new Promise((r) => setTimeout(r, UPDATE / 2));
    }
    expect(seen.size).toBeGreaterThanOrEqual(4);
    expect(node(h).agent.isFenced()).toBe(false);
    // That controller evicts through the tunnel only: the next beat's tunnel write answers with the phase.
    const evictedAt = Date.now();
    await client.patchStatus(EGRESS_TUNNELS, h, undefined, { status: { phase: 'HeartbeatTimeout' } });
    const withdrawnAt = await eventually(
      'withdrawn',
      () => node(h).binder.calls.find((c) => c.op === 'withdrawEips' && c.at >= evictedAt)?.at,
    );
    expect(withdrawnAt - evictedAt).toBeLessThan(EVICT - MARGIN);
    expect(node(h).agent.isFenced()).toBe(true);
  });

  it('a heartbeat acknowledged after the controller marked the eviction is no proof: the holder lets go at once', async () => {
    const h = await settle();
    // Stand in for the controller: stop the real one, then write the eviction mark it writes on the
    // heartbeat Lease before anything else of an eviction (the gateway status still names this
    // node, and the tunnel stays Ready: the renewal's response alone must tell the agent).
    term.abort();
    await controller.stop();
    const lease = () =>
      client.get<HeartbeatLease>(LEASES, heartbeatLeaseName(h), DEFAULT_HEARTBEAT_NAMESPACE);
    const seen = await lease();
    const evictedAt = Date.now();
    await client.patchMerge(LEASES, heartbeatLeaseName(h), DEFAULT_HEARTBEAT_NAMESPACE, {
      metadata: {
        resourceVersion: seen.metadata?.resourceVersion,
        annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: seen.spec?.renewTime },
      },
    });
    const withdrawnAt = await eventually(
      'withdrawn',
      () => node(h).binder.calls.find((c) => c.op === 'withdrawEips' && c.at >= evictedAt)?.at,
    );
    // Within a heartbeat or two, far ahead of the lease's own deadline (eviction - margin).
    expect(withdrawnAt - evictedAt).toBeLessThan(EVICT - MARGIN);
    expect(node(h).agent.isFenced()).toBe(true);
    const renewsAfter = () => node(h).binder.calls.filter((c) => c.op === 'renew' && c.at > withdrawnAt);
    await eventually('two more heartbeats', () =>
      node(h).agent.heartbeats.filter((b) => b.ackAt > withdrawnAt).length >= 2 ? true : undefined,
    );
    expect(renewsAfter()).toEqual([]);
    expect(node(h).binder.holds(EIP)).toBe(false);
    expect(node(h).agent.ownTunnel()?.status?.phase).toBe('Ready');
    // Once the controller lifted the mark (it saw the renewal), the status decides.
    await client.patchMerge(LEASES, heartbeatLeaseName(h), DEFAULT_HEARTBEAT_NAMESPACE, {
      metadata: { annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: null } },
    });
    await eventually('fence lifted', () => !node(h).agent.isFenced());
    await eventually('re-bound as the gateway status still says', () => node(h).binder.holds(EIP));
  });

  it('hands over on a planned stop: the EIP is placed elsewhere before the old node withdraws', async () => {
    const h = await settle();
    const other = h === 'gw1' ? 'gw2' : 'gw1';
    await eventually(
      'the other gateway is Ready',
      () => controller.tunnels.get(other)?.status?.phase === 'Ready',
    );
    const leaving = node(h);
    const stopAt = Date.now();
    await leaving.agent.stop();
    expect(holder(controller.gateways.get('egw1'))).toBe(other);
    const boundAt = await eventually('new holder binds', () => node(other).binder.boundAt(EIP, stopAt));
    // Break before make: the leaving node released its binding before the new holder bound.
    const releasedAt = leaving.binder.calls.find(
      (c) => c.op === 'apply' && c.at >= stopAt && !c.desired?.eips.includes(EIP),
    )?.at;
    expect(releasedAt).toBeDefined();
    expect(releasedAt ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(boundAt);
    // The move came from the draining mark, not from an eviction.
    expect(controller.tunnels.get(h)?.status?.phase).not.toBe('HeartbeatTimeout');
    expect(leaving.binder.calls.some((c) => c.op === 'withdrawAll')).toBe(true);
    nodes.splice(nodes.indexOf(leaving), 1);
    await leaving.proxy.close();
  });

  it('hands the EIP over when the egress link of the holder dies while its API path works, and keeps it moved', async () => {
    const h = await settle();
    const other = h === 'gw1' ? 'gw2' : 'gw1';
    await eventually(
      'the other gateway is Ready',
      () => controller.tunnels.get(other)?.status?.phase === 'Ready',
    );
    const downAt = Date.now();
    node(h).link.set({ usable: false, reason: 'no-carrier' });
    await eventually(
      'the EIP is placed on the other gateway',
      () => holder(controller.gateways.get('egw1')) === other,
    );
    await eventually('the new holder binds', () => node(other).binder.boundAt(EIP, downAt));
    await eventually('the old holder released its binding', () => !node(h).binder.holds(EIP));
    // Moved by the draining mark within heartbeats that kept coming: no eviction.
    expect(controller.tunnels.get(h)?.status?.phase).toBe('Ready');
    expect(controller.tunnels.get(h)?.metadata?.annotations?.[DRAINING_ANNOTATION]).toBeDefined();

    node(h).link.set({ usable: true });
    await eventually(
      'the draining mark is cleared',
      () => controller.tunnels.get(h)?.metadata?.annotations?.[DRAINING_ANNOTATION] === undefined,
    );
    await new Promise((r) => setTimeout(r, 2 * UPDATE));
    expect(holder(controller.gateways.get('egw1'))).toBe(other); // no move-back
  });
});
