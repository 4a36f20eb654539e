import type { EgressGateway, EgressTunnel } from '@egressgateway/crds';
import {
  HEARTBEAT_EVICTED_ANNOTATION,
  KubeApiError,
  type KubeClient,
  silentLogger,
  systemClock,
} from '@egressgateway/kube';
import { type Advert, type AdvertKey, DEFAULT_PEER_TIMING } from '@egressgateway/peers';
import { describe, expect, it } from 'vitest';
import { StepClock } from '../test/step-clock.js';
import { AgentPeers, type PeerLinkHooks, readEvictionMarks } from './agent-peers.js';
import { createAgentMetrics } from './metrics.js';

const gateway = {
  metadata: { name: 'egw1' },
  status: {
    nodeList: [
      { name: 'n1', eips: [{ ipv4: '198.51.100.7', policies: [{ name: 'p', namespace: 'default' }] }] },
      { name: 'n2' },
      { name: 'n3' },
    ],
  },
} as unknown as EgressGateway;
const tunnel = (name: string, ipv4: string) =>
  ({ metadata: { name }, status: { tunnel: { parent: { name: 'eth0', ipv4 } } } }) as unknown as EgressTunnel;

function setup(keys: AdvertKey[], startFails = false) {
  let hooks: PeerLinkHooks | undefined;
  const sent: Advert[] = [];
  const metrics = createAgentMetrics();
  const peers = new AgentPeers({
    clock: systemClock,
    log: silentLogger,
    metrics,
    nodeName: 'n1',
    peers: {
      timing: DEFAULT_PEER_TIMING,
      fallbackAfterMs: 3_000,
      keys: () => keys,
      link: (h) => {
        hooks = h;
        return {
          start: async () => {
            if (startFails) throw new Error('peer port: cannot bind 198.18.0.1 port 7790: EADDRINUSE');
          },
          send: (a) => sent.push(a),
          close: async () => {},
        };
      },
    },
    binder: { renewEips: async () => undefined },
    gateways: () => [gateway],
    tunnels: () => [tunnel('n1', '198.18.0.1'), tunnel('n2', '198.18.0.2'), tunnel('n3', '198.18.0.3')],
    apiLeaseMs: () => 1_000,
    heldEips: () => 1,
    reapply: () => {},
    heartbeatNow: () => {},
  });
  return { peers, sent, metrics, hooks: () => hooks as PeerLinkHooks };
}

describe('AgentPeers', () => {
  it("hands the transport the gateway's members by node address and counts its refusals by reason", async () => {
    const s = setup([{ id: 'k1', secret: Buffer.alloc(32, 1) }]);
    await s.peers.start();
    expect([...(s.hooks().members('egw1') ?? [])]).toEqual([
      ['n1', '198.18.0.1'],
      ['n2', '198.18.0.2'],
      ['n3', '198.18.0.3'],
    ]);
    expect(s.hooks().members('other')).toBeUndefined();
    s.hooks().onReject('bad-tag');
    s.hooks().onReject('bad-tag');
    s.hooks().onReject('wrong-source');
    const text = await s.metrics.registry.metrics();
    expect(text).toContain('egw_agent_peer_adverts_rejected_total{reason="bad-tag"} 2');
    expect(text).toContain('egw_agent_peer_adverts_rejected_total{reason="wrong-source"} 1');
    expect(s.sent.length).toBeGreaterThan(0);
    expect(s.sent[0]?.group).toBe('egw1');
    await s.peers.stop();
  });

  it('sends nothing before the transport has started (the first applies may build the cores earlier)', async () => {
    const s = setup([{ id: 'k1', secret: Buffer.alloc(32, 1) }]);
    s.peers.refresh();
    expect(s.peers.driver.modes()).toEqual({ egw1: 'peers' });
    expect(s.sent).toEqual([]);
    await s.peers.start();
    // The next advert goes out at the core's next period P (real timers here: waited for, not timed).
    for (let i = 0; i < 200 && s.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.sent.length).toBeGreaterThan(0);
    await s.peers.stop();
  });

  it('sends nothing without a key', async () => {
    const s = setup([]);
    await s.peers.start();
    expect(s.sent).toEqual([]);
    expect(s.peers.driver.modes()).toEqual({ egw1: 'no-key' });
    await s.peers.stop();
  });

  it('runs its gateways on API fencing when the port cannot be opened, instead of failing the agent', async () => {
    const s = setup([{ id: 'k1', secret: Buffer.alloc(32, 1) }], true);
    await s.peers.start();
    expect(s.peers.driver.modes()).toEqual({ egw1: 'no-port' });
    expect(s.sent).toEqual([]);
    expect(s.peers.eipsToBind(['198.51.100.7'])).toEqual(['198.51.100.7']);
    await s.peers.stop();
  });

  it('releases an EIP at once when its core stops holding it (before the re-apply), and renews without releasing while it holds', async () => {
    const clock = new StepClock(1_000_000);
    const key = { id: 'k1', secret: Buffer.alloc(32, 7) };
    let holder = 'n1';
    const gw = () =>
      ({
        metadata: { name: 'egw1' },
        status: {
          nodeList: ['n1', 'n2', 'n3'].map((name) => ({
            name,
            ...(name === holder
              ? { eips: [{ ipv4: '198.51.100.7', policies: [{ name: 'p', namespace: 'default' }] }] }
              : {}),
          })),
        },
      }) as unknown as EgressGateway;
    const hooks = new Map<string, PeerLinkHooks>();
    /** Nodes whose adverts are lost (to and from). */
    const cut = new Set<string>();
    const calls: { node: string; op: string; at: number; eips?: readonly string[] }[] = [];
    const reapplied: { node: string; at: number }[] = [];
    const nodes = ['n1', 'n2', 'n3'].map((node) => {
      const peers = new AgentPeers({
        clock,
        log: silentLogger,
        nodeName: node,
        peers: {
          timing: DEFAULT_PEER_TIMING,
          fallbackAfterMs: 3_000,
          keys: () => [key],
          wallNow: () => clock.now(),
          link: (h) => {
            hooks.set(node, h);
            return {
              start: async () => {},
              send: (a) => {
                for (const [to, h2] of hooks)
                  if (to !== node && !cut.has(to) && !cut.has(node))
                    clock.setTimeout(() => h2.onAdvert(a), 1);
              },
              close: async () => {},
            };
          },
        },
        binder: {
          renewEips: async () => {
            calls.push({ node, op: 'renew', at: clock.now() });
          },
          releaseEips: async (eips) => {
            calls.push({ node, op: 'release', at: clock.now(), eips });
          },
        },
        gateways: () => [gw()],
        tunnels: () => [tunnel('n1', '198.18.0.1'), tunnel('n2', '198.18.0.2'), tunnel('n3', '198.18.0.3')],
        apiLeaseMs: () => 1_000,
        // Nothing bound yet (the take-over's apply is still queued): renewals must go out anyway.
        heldEips: () => 0,
        reapply: () => reapplied.push({ node, at: clock.now() }),
        heartbeatNow: () => {},
      });
      return { node, peers };
    });
    for (const n of nodes) await n.peers.start();
    const n1 = nodes[0]?.peers as AgentPeers;
    const holds = (p: AgentPeers) => p.eipsToBind([]).includes('198.51.100.7');
    for (let i = 0; i < 100 && !holds(n1); i++) clock.advance(10);
    expect(holds(n1)).toBe(true);
    clock.advance(500);
    expect(calls.filter((c) => c.node === 'n1' && c.op === 'renew').length).toBeGreaterThan(5);
    expect(calls.filter((c) => c.op === 'release')).toEqual([]);
    // Acknowledgements stop for a moment: n1's right runs out while it still claims the EIP. Its
    // kernel lease ended with the right; the address stays for the renewal that brings it back.
    cut.add('n1');
    for (let i = 0; i < 100 && holds(n1); i++) clock.advance(10);
    expect(holds(n1)).toBe(false);
    cut.delete('n1');
    for (let i = 0; i < 100 && !holds(n1); i++) clock.advance(10);
    expect(holds(n1)).toBe(true);
    expect(calls.filter((c) => c.op === 'release')).toEqual([]);
    // The controller moves the EIP to n2: n1's core withdraws it.
    holder = 'n2';
    for (const n of nodes) n.peers.refresh();
    for (let i = 0; i < 200 && holds(n1); i++) clock.advance(5);
    expect(holds(n1)).toBe(false);
    const release = calls.find((c) => c.op === 'release');
    expect(release).toMatchObject({ node: 'n1', eips: ['198.51.100.7'] });
    // Released in the same step that asked for the re-apply, not after it.
    const reapply = reapplied.filter((r) => r.node === 'n1' && r.at <= (release?.at ?? 0)).at(-1);
    expect(reapply?.at).toBe(release?.at);
    for (const n of nodes) await n.peers.stop();
  });
});

describe('readEvictionMarks', () => {
  it('returns the members whose heartbeat Lease carries the eviction mark; a Lease that cannot be read counts as not marked', async () => {
    const asked: string[] = [];
    const client = {
      get: async (_ref: unknown, name: string, namespace?: string) => {
        asked.push(`${namespace}/${name}`);
        if (name.endsWith('gw2'))
          return {
            metadata: { name, annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: '2026-12-06T00:00:00Z' } },
          };
        if (name.endsWith('gw3')) return { metadata: { name } };
        throw new KubeApiError(403, 'Forbidden', 'leases is forbidden');
      },
    } as unknown as Pick<KubeClient, 'get'>;
    expect(await readEvictionMarks(client, 'egw', ['gw2', 'gw3', 'gw4'])).toEqual({ evicted: ['gw2'] });
    expect(asked.sort()).toEqual([
      'egw/egressgateway-heartbeat-gw2',
      'egw/egressgateway-heartbeat-gw3',
      'egw/egressgateway-heartbeat-gw4',
    ]);
  });

  it("reads the gateway's nodes in the same round, and relies on nothing when the gateway cannot be read", async () => {
    const marked = { metadata: { annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: '2026-12-06T00:00:00Z' } } };
    const client = (gatewayFails: boolean) =>
      ({
        get: async (ref: { kind: string }, name: string) => {
          if (ref.kind !== 'EgressGateway') return marked;
          if (gatewayFails) throw new KubeApiError(503, 'ServiceUnavailable', 'etcd leader changed');
          return { ...gateway, metadata: { name } };
        },
      }) as unknown as Pick<KubeClient, 'get'>;
    expect(await readEvictionMarks(client(false), 'egw', ['n2', 'n3'], 'egw1')).toEqual({
      evicted: ['n2', 'n3'],
      members: ['n1', 'n2', 'n3'],
    });
    const failed = await readEvictionMarks(client(true), 'egw', ['n2', 'n3'], 'egw1');
    expect(failed.evicted).toEqual([]);
    expect(failed.members).toBeUndefined();
    expect(failed.error).toMatch(/^gateway egw1: .*etcd leader changed/);
  });
});
