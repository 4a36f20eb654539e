import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyReport, NodeDatapathState, RenewReport, TunnelPeer } from '../src/index.js';
import { type Driver, isRoot, Lab, skipReason, sleep, tryRun, waitFor } from './lab.js';

if (!isRoot) console.warn(skipReason);

const EIP = '198.18.0.50';
const EXT_SELECTED = '198.18.0.100';
const EXT_OTHER = '198.18.0.101';
const POD = '198.19.1.2';
const EIP6 = 'fd00:18::50';
const EXT6_SELECTED = 'fd00:18::100';
const EXT6_OTHER = 'fd00:18::101';
const POD6 = 'fd00:19:1::2';
const v6 = (n: Node): string => `fd00:18::${n.lan.split('.')[3]}`;
const tun6 = (n: Node): string => `fd00:19:ff::${n.tunnelIp.split('.')[3]}`;

interface Node {
  name: string;
  lan: string;
  mac: string;
  tunnelIp: string;
  tunnelMac: string;
  mark: number;
  table: number;
}
const nodes: Record<'gw1' | 'gw2' | 'wk', Node> = {
  gw1: {
    name: 'gw1',
    lan: '198.18.0.11',
    mac: '02:00:00:00:00:11',
    tunnelIp: '198.19.255.11',
    tunnelMac: '02:00:00:ff:00:11',
    mark: 0x26000011,
    table: 1011,
  },
  gw2: {
    name: 'gw2',
    lan: '198.18.0.12',
    mac: '02:00:00:00:00:12',
    tunnelIp: '198.19.255.12',
    tunnelMac: '02:00:00:ff:00:12',
    mark: 0x26000012,
    table: 1012,
  },
  wk: {
    name: 'wk',
    lan: '198.18.0.21',
    mac: '02:00:00:00:00:21',
    tunnelIp: '198.19.255.21',
    tunnelMac: '02:00:00:ff:00:21',
    mark: 0x26000021,
    table: 1021,
  },
};
const peer = (n: Node): TunnelPeer => ({
  nodeName: n.name,
  underlay: n.lan,
  ipv4: n.tunnelIp,
  ipv6: tun6(n),
  mac: n.tunnelMac,
});
const route = (n: Node) => ({ nodeName: n.name, mark: n.mark, table: n.table });

function nodeState(self: Node, opts: { steerTo?: Node; eip?: boolean; snat?: boolean }): NodeDatapathState {
  const others = Object.values(nodes).filter((n) => n.name !== self.name);
  const isGateway = self.name !== 'wk';
  return {
    egressInterface: 'eth0',
    tunnel: {
      name: 'egress.vxlan',
      vni: 100,
      port: 7789,
      localUnderlay: self.lan,
      ipv4: `${self.tunnelIp}/24`,
      ipv6: `${tun6(self)}/64`,
      mac: self.tunnelMac,
      peers: others.map(peer),
    },
    // Workers route to every gateway; gateways route replies back to the worker.
    markRoutes: isGateway ? [route(nodes.wk)] : [route(nodes.gw1), route(nodes.gw2)],
    eips: opts.eip === true ? [EIP, EIP6] : [],
    steering:
      opts.steerTo === undefined
        ? []
        : [
            {
              id: 'policy-a',
              sources: [`${POD}/32`, `${POD6}/128`],
              destinations: [`${EXT_SELECTED}/32`, `${EXT6_SELECTED}/128`],
              mark: opts.steerTo.mark,
            },
          ],
    snat:
      opts.snat === true
        ? [
            { id: 'policy-a', sources: ['198.19.1.0/24'], destinations: [`${EXT_SELECTED}/32`], eip: EIP },
            {
              id: 'policy-a6',
              sources: ['fd00:19:1::/64'],
              destinations: [`${EXT6_SELECTED}/128`],
              eip: EIP6,
            },
          ]
        : [],
    bypassDestinations: ['10.96.0.0/12'],
  };
}

const UDP_SERVER = `
const dgram = require('node:dgram');
for (const addr of process.argv.slice(1)) {
  const s = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (m, r) => { console.log('dst=' + addr + ' src=' + r.address); s.send(m, r.port, r.address); });
  s.bind(9000, addr);
}`;
const UDP_CLIENT = `
const s = require('node:dgram').createSocket(process.argv[1].includes(':') ? 'udp6' : 'udp4');
const t = setTimeout(() => { console.log('timeout'); process.exit(0); }, 1500);
s.on('message', () => { clearTimeout(t); console.log('reply'); process.exit(0); });
const send = () => s.send('ping', 9000, process.argv[1]);
if (process.argv[2]) s.bind(Number(process.argv[2]), send); else send();`;
const TCP_PROBE = `
const c = require('node:net').connect({ host: process.argv[1], port: 2222, timeout: 1000 });
c.on('connect', () => { console.log('connected'); process.exit(0); });
c.on('timeout', () => { console.log('timeout'); process.exit(0); });
c.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });`;
const TCP_SERVER = `require('node:net').createServer((c) => c.end()).listen(2222, '::');`;

describe.skipIf(!isRoot)('end to end: pod -> worker -> VXLAN -> gateway -> LAN -> server', () => {
  const lab = new Lab();
  const ns: Record<string, string> = {};
  const drivers: Record<string, Driver> = {};
  let serverOut = '';
  let server: ChildProcess | undefined;

  const apply = async (who: 'gw1' | 'gw2' | 'wk', state: NodeDatapathState): Promise<ApplyReport> => {
    const r = await (drivers[who] as Driver).call<ApplyReport>('apply', state);
    expect(r.failed).toBeUndefined();
    return r;
  };
  const podSend = (dst: string, sourcePort?: number): string =>
    lab
      .exec(ns.pod as string, process.execPath, [
        '-e',
        UDP_CLIENT,
        dst,
        ...(sourcePort ? [String(sourcePort)] : []),
      ])
      .trim();
  /**
   * The pod sends one datagram (from `sourcePort` when given: the same flow each time); returns
   * whether the echo came back and what the server saw.
   */
  const roundTrip = async (
    dst: string,
    sourcePort?: number,
  ): Promise<{ reply: string; seen: string | undefined }> => {
    serverOut = '';
    const reply = podSend(dst, sourcePort);
    const line = (): string | undefined => serverOut.split('\n').find((l) => l.startsWith(`dst=${dst} `));
    await waitFor(() => line() !== undefined, 1000);
    return { reply, seen: line() };
  };

  beforeAll(async () => {
    const sw = lab.ns('sw');
    lab.ip(sw, 'link', 'add', 'br0', 'type', 'bridge');
    lab.ip(sw, 'link', 'set', 'br0', 'up');
    for (const n of Object.values(nodes)) {
      const id = lab.ns(n.name, { forward: true });
      ns[n.name] = id;
      lab.veth(id, 'eth0', sw, `p-${n.name}`, n.mac);
      lab.ip(sw, 'link', 'set', `p-${n.name}`, 'master', 'br0');
      lab.ip(id, 'addr', 'add', `${n.lan}/24`, 'dev', 'eth0');
      lab.ip(id, 'addr', 'add', `${v6(n)}/64`, 'dev', 'eth0', 'nodad');
      lab.ip(id, '-6', 'route', 'add', 'default', 'via', 'fd00:18::1');
      // Real nodes have a default route; loose rp_filter on the tunnel needs some route to the pod source.
      lab.ip(id, 'route', 'add', 'default', 'via', '198.18.0.1');
    }
    ns.ext = lab.ns('ext');
    lab.veth(ns.ext, 'eth0', sw, 'p-ext');
    lab.ip(sw, 'link', 'set', 'p-ext', 'master', 'br0');
    lab.ip(ns.ext, 'addr', 'add', `${EXT_SELECTED}/24`, 'dev', 'eth0');
    lab.ip(ns.ext, 'addr', 'add', `${EXT_OTHER}/24`, 'dev', 'eth0');
    lab.ip(ns.ext, 'route', 'add', '198.19.1.0/24', 'via', nodes.wk.lan);
    lab.ip(ns.ext, 'addr', 'add', `${EXT6_SELECTED}/64`, 'dev', 'eth0', 'nodad');
    lab.ip(ns.ext, 'addr', 'add', `${EXT6_OTHER}/64`, 'dev', 'eth0', 'nodad');
    lab.ip(ns.ext, '-6', 'route', 'add', 'fd00:19:1::/64', 'via', v6(nodes.wk));
    ns.pod = lab.ns('pod');
    lab.veth(ns.pod, 'eth0', ns.wk as string, 'veth-pod');
    lab.ip(ns.pod, 'addr', 'add', `${POD}/24`, 'dev', 'eth0');
    lab.ip(ns.wk as string, 'addr', 'add', '198.19.1.1/24', 'dev', 'veth-pod');
    lab.ip(ns.pod, 'route', 'add', 'default', 'via', '198.19.1.1');
    lab.ip(ns.pod, 'addr', 'add', `${POD6}/64`, 'dev', 'eth0', 'nodad');
    lab.ip(ns.wk as string, 'addr', 'add', 'fd00:19:1::1/64', 'dev', 'veth-pod', 'nodad');
    lab.ip(ns.pod, '-6', 'route', 'add', 'default', 'via', 'fd00:19:1::1');
    server = lab.spawn(ns.ext, process.execPath, [
      '-e',
      UDP_SERVER,
      EXT_SELECTED,
      EXT_OTHER,
      EXT6_SELECTED,
      EXT6_OTHER,
    ]);
    server.stdout?.on('data', (b: Buffer) => {
      serverOut += b.toString();
    });
    lab.spawn(ns.gw1 as string, process.execPath, ['-e', TCP_SERVER]);
    for (const n of ['gw1', 'gw2', 'wk'] as const) {
      drivers[n] = await lab.driver(ns[n] as string, { announce: { count: 1, repeatAfterMs: 0 } });
    }
    await sleep(300);
  }, 30_000);

  afterAll(async () => {
    for (const d of Object.values(drivers)) await d.close().catch(() => undefined);
    lab.teardown();
  });

  it('the server sees the EIP for the selected destination and the pod address for others; replies return', async () => {
    await apply('gw1', nodeState(nodes.gw1, { eip: true, snat: true }));
    await apply('gw2', nodeState(nodes.gw2, {}));
    await apply('wk', nodeState(nodes.wk, { steerTo: nodes.gw1 }));

    expect(await roundTrip(EXT_SELECTED)).toEqual({ reply: 'reply', seen: `dst=${EXT_SELECTED} src=${EIP}` });
    expect(await roundTrip(EXT_OTHER)).toEqual({ reply: 'reply', seen: `dst=${EXT_OTHER} src=${POD}` });
  });

  it('the same for IPv6: the server sees the IPv6 EIP for the selected destination, the pod otherwise', async () => {
    expect(await roundTrip(EXT6_SELECTED)).toEqual({
      reply: 'reply',
      seen: `dst=${EXT6_SELECTED} src=${EIP6}`,
    });
    expect(await roundTrip(EXT6_OTHER)).toEqual({ reply: 'reply', seen: `dst=${EXT6_OTHER} src=${POD6}` });
  });

  it('a steered flow the gateway has no SNAT rule for yet is dropped there, and leaves from the EIP once the rule is in', async () => {
    // The worker steers the pod while the gateway's SNAT rule is still on its way (an endpoint
    // slice not yet received). Forwarded, the packet would leave with the pod's address and its
    // conntrack entry would keep the whole flow un-NATed after the rule arrived.
    await apply('gw1', nodeState(nodes.gw1, { eip: true }));
    for (const [dst, port] of [
      [EXT_SELECTED, 40_001],
      [EXT6_SELECTED, 40_002],
    ] as const) {
      const missed = await roundTrip(dst, port);
      expect(missed.reply).toBe('timeout');
      expect(serverOut).not.toContain(`dst=${dst} `);
    }
    await apply('gw1', nodeState(nodes.gw1, { eip: true, snat: true }));
    // The same flows (same source ports) now leave from the EIPs.
    expect(await roundTrip(EXT_SELECTED, 40_001)).toEqual({
      reply: 'reply',
      seen: `dst=${EXT_SELECTED} src=${EIP}`,
    });
    expect(await roundTrip(EXT6_SELECTED, 40_002)).toEqual({
      reply: 'reply',
      seen: `dst=${EXT6_SELECTED} src=${EIP6}`,
    });
  }, 20_000);

  it('new inbound connections to the EIPs (IPv4 and IPv6) are dropped; the node addresses still answer', () => {
    expect(lab.exec(ns.ext as string, process.execPath, ['-e', TCP_PROBE, nodes.gw1.lan]).trim()).toBe(
      'connected',
    );
    expect(lab.exec(ns.ext as string, process.execPath, ['-e', TCP_PROBE, EIP]).trim()).toBe('timeout');
    expect(lab.exec(ns.ext as string, process.execPath, ['-e', TCP_PROBE, v6(nodes.gw1)]).trim()).toBe(
      'connected',
    );
    expect(lab.exec(ns.ext as string, process.execPath, ['-e', TCP_PROBE, EIP6]).trim()).toBe('timeout');
  });

  it('applying the same states again changes nothing', async () => {
    expect((await apply('gw1', nodeState(nodes.gw1, { eip: true, snat: true }))).applied).toEqual([]);
    expect((await apply('gw2', nodeState(nodes.gw2, {}))).applied).toEqual([]);
    expect((await apply('wk', nodeState(nodes.wk, { steerTo: nodes.gw1 }))).applied).toEqual([]);
  });

  it('a restarted binder adopts the existing state (its first apply changes nothing)', async () => {
    await (drivers.wk as Driver).close();
    await (drivers.gw1 as Driver).close();
    drivers.wk = await lab.driver(ns.wk as string);
    drivers.gw1 = await lab.driver(ns.gw1 as string);
    expect((await apply('wk', nodeState(nodes.wk, { steerTo: nodes.gw1 }))).applied).toEqual([]);
    expect((await apply('gw1', nodeState(nodes.gw1, { eip: true, snat: true }))).applied).toEqual([]);
  }, 20_000);

  it('moving the EIP to gw2 (bind on gw2, switch the worker) makes the server see the EIP from gw2', async () => {
    const capture = lab.spawn(ns.ext as string, 'tcpdump', [
      '-i',
      'eth0',
      '-n',
      '-l',
      '-e',
      'udp',
      'port',
      '9000',
    ]);
    let captured = '';
    capture.stdout?.on('data', (b: Buffer) => {
      captured += b.toString();
    });
    await sleep(400);
    const bind = await apply('gw2', nodeState(nodes.gw2, { eip: true, snat: true }));
    expect(bind.announced.map((a) => a.address)).toEqual([EIP, EIP6]);
    const steer = await apply('wk', nodeState(nodes.wk, { steerTo: nodes.gw2 }));
    // Only the steering map changes on the worker: one element out, one in.
    expect(steer.applied.map((a) => a.text)).toEqual(['nft-update steer4 -1 +1, steer6 -1 +1']);
    await apply('gw1', nodeState(nodes.gw1, {}));

    expect(await roundTrip(EXT_SELECTED)).toEqual({ reply: 'reply', seen: `dst=${EXT_SELECTED} src=${EIP}` });
    expect(await roundTrip(EXT6_SELECTED)).toEqual({
      reply: 'reply',
      seen: `dst=${EXT6_SELECTED} src=${EIP6}`,
    });
    const fromGw2 = new RegExp(
      `${nodes.gw2.mac} > .* ${EIP.replace(/\./g, '\\.')}\\.\\d+ > ${EXT_SELECTED.replace(/\./g, '\\.')}\\.9000`,
    );
    await waitFor(() => fromGw2.test(captured), 2000);
    capture.kill();
    expect(captured).toMatch(fromGw2);
    expect(tryRun('ip', ['-n', ns.ext as string, 'neigh', 'show', EIP]).stdout).toContain(nodes.gw2.mac);
  });

  it('when the lease of gw2 runs out, nobody answers ARP/ND for its EIPs (forwarding goes on) until renewed', async () => {
    const arp = (): number | null =>
      tryRun('ip', ['netns', 'exec', ns.ext as string, 'arping', '-c', '1', '-w', '1', '-I', 'eth0', EIP])
        .status;
    const nd = (): string =>
      tryRun('ip', ['netns', 'exec', ns.ext as string, 'ndisc6', '-r', '1', '-w', '500', EIP6, 'eth0'])
        .stdout;
    expect(arp()).toBe(0);
    expect(nd()).toContain('Target link-layer address');
    // Shorten the lease as an agent whose heartbeats stopped being acknowledged would leave it.
    const renew = await (drivers.gw2 as Driver).call<RenewReport>('renewEips', 30, 300);
    expect([...renew.renewed].sort()).toEqual([EIP, EIP6].sort());
    await sleep(500);
    // The address is still bound (kernel lifetime 30 s), but the node no longer claims it.
    expect(lab.ip(ns.gw2 as string, 'addr', 'show', 'dev', 'eth0')).toContain(`${EIP}/32`);
    expect(arp()).not.toBe(0);
    expect(nd()).not.toContain('Target link-layer address');
    // Flows already going through gw2 keep going (the server's neighbour entry still points there).
    expect(await roundTrip(EXT_SELECTED)).toEqual({ reply: 'reply', seen: `dst=${EXT_SELECTED} src=${EIP}` });
    await (drivers.gw2 as Driver).call<RenewReport>('renewEips', 30, 30_000);
    expect(arp()).toBe(0);
    expect(nd()).toContain('Target link-layer address');
  }, 20_000);

  it('an empty desired state (withdrawAll) removes everything owned and nothing else', async () => {
    for (const n of ['gw1', 'gw2', 'wk'] as const) {
      const r = await (drivers[n] as Driver).call<ApplyReport>('withdrawAll');
      expect(r.ok).toBe(true);
      const id = ns[n] as string;
      expect(lab.ip(id, 'rule', 'show')).not.toMatch(/^99:/m);
      expect(tryRun('ip', ['-n', id, 'link', 'show', 'egress.vxlan']).status).not.toBe(0);
      expect(lab.exec(id, 'nft', ['list', 'tables'])).not.toContain('egressgateway');
      expect(lab.ip(id, 'addr', 'show', 'dev', 'eth0')).not.toContain(`${EIP}/32`);
      expect(lab.ip(id, 'addr', 'show', 'dev', 'eth0')).not.toContain(`${EIP6}/128`);
      expect(lab.ip(id, '-6', 'rule', 'show')).not.toMatch(/^99:/m);
      expect(lab.ip(id, 'addr', 'show', 'dev', 'eth0')).toContain(`${nodes[n].lan}/24`);
      expect(lab.ip(id, 'route', 'show', 'table', 'all')).not.toMatch(/table 10[12]\d/);
    }
    expect(lab.ip(ns.wk as string, 'addr', 'show', 'dev', 'veth-pod')).toContain('198.19.1.1/24');
  });
});
