import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { createControllerMetrics, EgressController } from '@egressgateway/controller';
import {
  customResourceDefinitions,
  type EgressGateway,
  type EgressTunnel,
  PEERS_CONDITION,
} from '@egressgateway/crds';
import {
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  EGRESS_TUNNELS,
  KubeClient,
  type Logger,
  NODES,
  PODS,
} from '@egressgateway/kube';
import { type Advert, type AdvertKey, DEFAULT_PEER_TIMING } from '@egressgateway/peers';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressAgent } from '../src/agent.js';
import type { PeerLink, PeerLinkHooks } from '../src/agent-peers.js';
import { createAgentMetrics } from '../src/metrics.js';
import { peerTiming } from '../src/peer-setup.js';
import { eventually, PartitionProxy, RecordingBinder } from './harness.js';

// One process runs three agents, the controller and the API server on a shared machine: the timers
// of the peers may lag by tens of ms. D and L are twice the defaults here, so that a holder keeps
// its lease with message delays up to about 98 ms instead of 23 ms (the defaults are checked in
// virtual time in src/peer-driver.test.ts and packages/peers); E is 3 s so that the peers' outage
// reports reach the holder well before its API fence.
const EVICT = 3000;
const UPDATE = 200;
const MARGIN = 500;
const DEAD = 400;
const LEASE = 300;
const EIP = '198.18.0.50';
const GATEWAYS = ['gw1', 'gw2', 'gw3'];
const KEY: AdvertKey = { id: 'k1', secret: Buffer.alloc(32, 1) };
const FALLBACK_AFTER = 3_000;

/**
 * The node network of the peers, in memory: an advert reaches every other member of its gateway
 * 1 ms later (the UDP transport itself is tested in packages/peers, test/udp.netns.test.ts), as long
 * as both ends are up.
 */
class PeerNet {
  private readonly hooks = new Map<string, PeerLinkHooks>();
  readonly down = new Set<string>();
  link(node: string, hooks: PeerLinkHooks): PeerLink {
    return {
      start: async () => {
        this.hooks.set(node, hooks);
      },
      send: (advert: Advert) => {
        for (const [to, h] of this.hooks) {
          if (to === node || !h.members(advert.group)?.has(node)) continue;
          setTimeout(() => {
            if (!this.down.has(node) && !this.down.has(to) && this.hooks.get(to) === h) h.onAdvert(advert);
          }, 1);
        }
      },
      close: async () => {
        this.hooks.delete(node);
      },
    };
  }
}

interface Node {
  name: string;
  agent: EgressAgent;
  binder: RecordingBinder;
  proxy: PartitionProxy;
  metrics: ReturnType<typeof createAgentMetrics>;
}

/** With EGW_PEER_DEBUG set: the peer and fence lines of each agent on the console, for a failing run. */
const debugLogger = (node: string): Logger => {
  const t0 = Date.now();
  const line =
    (level: string) =>
    (fields: object, msg: string): void => {
      if (/peer|fenc/.test(msg)) console.log(Date.now() - t0, node, level, msg, JSON.stringify(fields));
    };
  const l: Logger = {
    debug: () => {},
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: () => l,
  };
  return l;
};

const holder = (gw: EgressGateway | undefined) =>
  gw?.status?.nodeList?.find((n) => (n.eips ?? []).some((e) => e.ipv4 === EIP))?.name;

describe('gateway peers: agents against the embedded API server and a live controller', () => {
  let server: ApiServer;
  let controller: EgressController;
  let controllerMetrics: ReturnType<typeof createControllerMetrics>;
  let controllerProxy: PartitionProxy;
  let term: AbortController;
  let net: PeerNet;
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
    const client = new KubeClient(kc);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of customResourceDefinitions()) await objects.create(crd as never);
    for (const name of GATEWAYS) {
      await client.create(NODES, {
        metadata: { name, labels: { egress: 'true' } },
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
      spec: { nodeName: 'gw3', containers: [{ name: 'c', image: 'x' }] },
    } as never);
    // The controller reaches the API server through a proxy too: cutting every proxy is an outage
    // of the API server for everyone.
    controllerProxy = new PartitionProxy(server.port);
    controllerMetrics = createControllerMetrics();
    controller = new EgressController({
      client: new KubeClient(kubeConfigVia(await controllerProxy.listen())),
      metrics: controllerMetrics,
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
    net = new PeerNet();
    for (const name of GATEWAYS) nodes.push(await startNode(name));
  });

  /** Starts the agent of a gateway node (through its own proxy to the API server); `peers: false`: without. */
  const startNode = async (name: string, peers = true): Promise<Node> => {
    const i = GATEWAYS.indexOf(name);
    const proxy = new PartitionProxy(server.port);
    const binder = new RecordingBinder(EVICT - MARGIN);
    const metrics = createAgentMetrics();
    const agent = new EgressAgent({
      client: new KubeClient(kubeConfigVia(await proxy.listen())),
      binder,
      metrics,
      ...(process.env.EGW_PEER_DEBUG ? { logger: debugLogger(name) } : {}),
      settings: {
        nodeName: name,
        egressInterface: 'eth0',
        parent: { name: 'eth0', ipv4: `198.18.0.${11 + i}` },
        tunnel: { name: 'egress.vxlan', vni: 100, port: 7789, ipv4Cidr: '198.19.255.0/24' },
        updatePeriodMs: UPDATE,
        evictionTimeoutMs: EVICT,
        fenceMarginMs: MARGIN,
      },
      ...(peers
        ? {
            peers: {
              timing: peerTiming({
                peerAdvertPeriodMs: DEFAULT_PEER_TIMING.advertPeriodMs,
                peerDeadIntervalMs: DEAD,
                peerLeaseMs: LEASE,
                peerRejoinDelayMs: 1_000,
                eipEvictionTimeoutMs: EVICT,
                fenceMarginMs: MARGIN,
                tunnelUpdatePeriodMs: UPDATE,
              }),
              fallbackAfterMs: FALLBACK_AFTER,
              keys: () => [KEY],
              link: (hooks: PeerLinkHooks) => net.link(name, hooks),
            },
          }
        : {}),
    });
    await agent.start();
    return { name, agent, binder, proxy, metrics };
  };

  afterEach(async () => {
    controllerProxy.heal();
    for (const n of nodes.splice(0)) {
      n.proxy.heal();
      await n.agent.stop({ handover: false });
      await n.proxy.close();
    }
    term.abort();
    await controller.stop();
    await controllerProxy.close();
    await server.close();
  });

  const node = (name: string) => nodes.find((n) => n.name === name) as Node;
  const holders = () => nodes.filter((n) => n.binder.holds(EIP)).map((n) => n.name);
  const settle = async () => {
    const h = await eventually('EIP placed', () => holder(controller.gateways.get('egw1')));
    await eventually('holder binds the EIP', () => node(h).binder.holds(EIP));
    return h;
  };
  /** Samples who binds the EIP every 5 ms for `ms`; returns every sample. */
  const watch = async (ms: number) => {
    const samples: string[][] = [];
    const start = Date.now();
    const end = start + ms;
    while (Date.now() < end) {
      const hs = holders();
      if (process.env.EGW_PEER_DEBUG && hs.length !== 1) console.log(Date.now() - start, hs);
      samples.push(hs);
      await new Promise((r) => setTimeout(r, 5));
    }
    return samples;
  };

  it('keeps the EIP on its holder through an API server outage for everyone that outlasts the eviction timeout', async () => {
    const h = await settle();
    for (const n of nodes) n.proxy.block();
    controllerProxy.block();
    // Twice the eviction timeout: without peers the holder fences at E - M (see agent.test.ts).
    const during = await watch(2 * EVICT);
    expect(during.filter((s) => !(s.length === 1 && s[0] === h)).slice(0, 3)).toEqual([]);
    expect(node(h).agent.isFenced()).toBe(true); // the API fence is up; the peers keep the EIP
    for (const n of nodes) n.proxy.heal();
    controllerProxy.heal();
    const after = await watch(EVICT);
    expect(after.filter((s) => s.length > 1)).toEqual([]);
    expect(after.at(-1)).toEqual([h]);
  });

  it("says in each gateway node's EgressTunnel whether the peers decide: True while heard, False (Fallback) for an agent that hears none, True again once it does, gone once it runs without peers", async () => {
    await settle();
    const client = new KubeClient(kubeConfigVia(server.port));
    const condition = async (name: string) =>
      (await client.get<EgressTunnel>(EGRESS_TUNNELS, name)).status?.conditions?.find(
        (c) => c.type === PEERS_CONDITION,
      );
    const poll = async (what: string, probe: () => Promise<boolean>) => {
      const deadline = Date.now() + FALLBACK_AFTER + 5_000;
      while (!(await probe())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    for (const name of GATEWAYS)
      await poll(`${name} True`, async () => (await condition(name))?.status === 'True');
    expect((await condition('gw1'))?.message).toBe('the gateway peers decide for egw1');
    // gw3's agent restarts with UDP blocked both ways: it hears no advert for fallbackAfter.
    const old = node('gw3');
    await old.agent.stop({ handover: false });
    await old.proxy.close();
    nodes.splice(nodes.indexOf(old), 1);
    net.down.add('gw3');
    nodes.push(await startNode('gw3'));
    await poll('gw3 False', async () => (await condition('gw3'))?.status === 'False');
    const fallback = await condition('gw3');
    expect(fallback?.reason).toBe('Fallback');
    expect(fallback?.message).toContain('egw1 (no valid advert from any peer for 3000 ms');
    net.down.delete('gw3');
    await poll('gw3 True again', async () => (await condition('gw3'))?.status === 'True');
    // gw3's agent restarts without peers: the condition it left would mislead, so it goes.
    const withPeers = node('gw3');
    await withPeers.agent.stop({ handover: false });
    await withPeers.proxy.close();
    nodes.splice(nodes.indexOf(withPeers), 1);
    nodes.push(await startNode('gw3', false));
    await poll('gw3 condition removed', async () => (await condition('gw3')) === undefined);
  });

  it('hands the EIP of a dead holder to a peer, never to two nodes at once, and the controller records the move from its claim', async () => {
    const h = await settle();
    const dead = node(h);
    // The holder's node dies: no more adverts, no more heartbeats, its EIP gone with it.
    net.down.add(h);
    dead.proxy.block();
    await dead.agent.stop({ handover: false });
    let successor: string | undefined;
    const samples: string[][] = [];
    await eventually('a peer binds the EIP', () => {
      samples.push(holders());
      successor = holders()[0];
      return successor;
    });
    expect(successor).not.toBe(h);
    expect(samples.filter((s) => s.length > 1)).toEqual([]);
    const m = await node(successor as string).metrics.registry.metrics();
    expect(m).toContain('egw_agent_peer_takeovers_total{gateway="egw1"} 1');
    // The controller then records the move: the peers decided (D = 400 ms against E = 3 s), and
    // the status follows the successor's claim rather than the dead holder's eviction.
    const moved = await eventually('controller moves the EIP', () => {
      const now = holder(controller.gateways.get('egw1'));
      return now !== h ? now : undefined;
    });
    expect(moved).toBe(successor);
    const followed = (await controllerMetrics.peerClaims.get()).values.find(
      (v) => v.labels.result === 'followed',
    );
    expect(followed?.value ?? 0).toBeGreaterThanOrEqual(1);
    const later = await watch(500);
    expect(later.filter((s) => s.length > 1)).toEqual([]);
    await eventually('the node the status names binds', () => node(moved).binder.holds(EIP));
    expect(holders()).toEqual([moved]);
    nodes.splice(nodes.indexOf(dead), 1);
    await dead.proxy.close();
  });

  it('a majority of the gateway dies: the holder loses its peer lease, then answers again once the controller evicted the dead (the API server as tie-breaker)', async () => {
    const h = await settle();
    // Long enough running that every agent's rejoin delay is over.
    await new Promise((r) => setTimeout(r, 1_000));
    const dead = nodes.filter((n) => n.name !== h);
    for (const d of dead) {
      net.down.add(d.name);
      d.proxy.block();
      await d.agent.stop({ handover: false });
    }
    const diedAt = Date.now();
    // Without a peer majority the holder fences after L (it cannot tell whether it is the one cut off).
    await eventually('the holder lets go without a majority', () =>
      holders().length === 0 ? true : undefined,
    );
    // The controller marks the dead nodes' Leases at E; the holder reads the marks and answers again.
    await eventually(
      'the holder answers again',
      () => (node(h).binder.holds(EIP) ? true : undefined),
      3 * EVICT,
    );
    const blackoutMs = Date.now() - diedAt;
    expect(blackoutMs).toBeGreaterThan(EVICT - MARGIN);
    expect(holder(controller.gateways.get('egw1'))).toBe(h);
    // And keeps answering on the marks (re-read every J/3) while its heartbeats work.
    const later = await watch(2_000);
    expect(later.filter((x) => !(x.length === 1 && x[0] === h))).toEqual([]);
    for (const d of dead) {
      nodes.splice(nodes.indexOf(d), 1);
      await d.proxy.close();
    }
  });
});
