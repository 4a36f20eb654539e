import type { EgressGateway, EgressTunnel } from '@egressgateway/crds';
import { silentLogger, systemClock } from '@egressgateway/kube';
import { type Advert, type AdvertKey, DEFAULT_PEER_TIMING } from '@egressgateway/peers';
import { describe, expect, it } from 'vitest';
import { AgentPeers, type PeerLinkHooks } from './agent-peers.js';
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
});
