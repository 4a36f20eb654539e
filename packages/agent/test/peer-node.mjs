// One gateway node's peer stack (AgentPeers: driver, UDP transport, kernel-lease hooks) in a network
// namespace, for peers.netns.test.ts. The cluster is given as plain objects; the API server's
// acknowledgements are simulated every 200 ms. Protocol: JSON requests on stdin, replies on stdout.
import { createInterface } from 'node:readline';
import { silentLogger, systemClock } from '@egressgateway/kube';
import { DEFAULT_PEER_TIMING, PeerTransport } from '@egressgateway/peers';

const { AgentPeers, createAgentMetrics } = await import(process.argv[2]);
const o = JSON.parse(process.argv[3]);
const keys = o.keys.map((k) => ({ id: k.id, secret: Buffer.from(k.secret, 'hex') }));
const metrics = createAgentMetrics();
const gateway = {
  metadata: { name: 'egw1' },
  status: {
    nodeList: o.members.map((m) => ({
      name: m.name,
      eips: m.name === o.holder ? [{ ipv4: o.eip, policies: [{ name: 'p', namespace: 'default' }] }] : [],
    })),
  },
};
const tunnels = o.members.map((m) => ({
  metadata: { name: m.name },
  status: { tunnel: { parent: { name: 'eth0', ipv4: m.ipv4 } } },
}));
const log = {
  ...silentLogger,
  info: (f, m) => process.stderr.write(`${JSON.stringify({ ...f, msg: m })}\n`),
  warn: (f, m) => process.stderr.write(`${JSON.stringify({ ...f, msg: m })}\n`),
  error: (f, m) => process.stderr.write(`${JSON.stringify({ ...f, msg: m })}\n`),
  child: () => log,
};
const peers = new AgentPeers({
  clock: systemClock,
  log,
  metrics,
  nodeName: o.node,
  peers: {
    timing: DEFAULT_PEER_TIMING,
    fallbackAfterMs: o.fallbackAfterMs,
    keys: () => keys,
    link: (hooks) =>
      new PeerTransport({
        node: o.node,
        port: 7790,
        bind: { ipv4: o.ipv4 },
        keys: () => keys,
        members: hooks.members,
        onAdvert: hooks.onAdvert,
        onReject: hooks.onReject,
        log,
      }),
  },
  binder: { renewEips: async () => undefined },
  gateways: () => [gateway],
  tunnels: () => tunnels,
  apiLeaseMs: () => 0,
  heldEips: () => 1,
  reapply: () => {},
  heartbeatNow: () => {},
});
await peers.start();
setInterval(() => peers.driver.heartbeatAcked(systemClock.now()), 200);

const methods = {
  holds: async () => peers.eipsToBind([]),
  modes: async () => peers.driver.modes(),
  metrics: async () => metrics.registry.metrics(),
};
createInterface({ input: process.stdin }).on('line', async (line) => {
  const { id, method } = JSON.parse(line);
  process.stdout.write(`${JSON.stringify({ id, result: await methods[method]() })}\n`);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
