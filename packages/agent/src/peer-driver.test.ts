import type { EventInput } from '@egressgateway/kube';
import { silentLogger } from '@egressgateway/kube';
import { type Advert, DEFAULT_PEER_TIMING, type PeerTiming } from '@egressgateway/peers';
import { beforeEach, describe, expect, it } from 'vitest';
import { StepClock } from '../test/step-clock.js';
import { createAgentMetrics } from './metrics.js';
import { PeerDriver } from './peer-driver.js';
import type { PeerGroupView } from './peer-groups.js';

const EIP = '198.51.100.7';
const KEY = `${EIP}/`;
const NODES = ['node1', 'node2', 'node3'];
const view = (members: readonly string[], holder = 'node1'): PeerGroupView => ({
  name: 'egw1',
  members,
  eips: [{ key: KEY, addresses: [EIP] }],
  holders: { [KEY]: holder },
  addresses: new Map(members.map((m, i) => [m, `198.18.0.${i + 1}`])),
});

/** Three drivers on one clock; adverts take `delayMs`; links can be cut; the API can be cut. */
class Cluster {
  readonly clock = new StepClock(1_000_000);
  readonly drivers = new Map<string, PeerDriver>();
  readonly events: EventInput[] = [];
  readonly metrics = createAgentMetrics();
  readonly changed = new Map<string, number>();
  readonly renewed = new Map<string, number>();
  readonly heartbeatNow = new Map<string, number>();
  readonly sent: Advert[] = [];
  readonly dead = new Set<string>();
  readonly cut = new Set<string>();
  /** Nodes whose heartbeats the API server does not acknowledge. */
  readonly apiDown = new Set<string>();
  hasKey = true;
  delayMs = 1;
  group: PeerGroupView;
  private heartbeats: unknown;

  /** Nodes whose heartbeat Lease carries the controller's eviction mark (for `readEvictions`). */
  readonly marked = new Set<string>();
  /** The members each `readEvictions` call asked about, per reading node. */
  readonly reads: { node: string; members: readonly string[] }[] = [];

  constructor(
    members: readonly string[] = NODES,
    readonly fallbackAfterMs = 2_000,
    timing: PeerTiming = DEFAULT_PEER_TIMING,
  ) {
    this.group = view(members);
    for (const node of members) {
      const d: PeerDriver = new PeerDriver({
        clock: this.clock,
        wallNow: () => this.clock.now(),
        log: silentLogger,
        metrics: node === 'node2' ? this.metrics : undefined,
        events: { record: (e) => this.events.push(e) },
        nodeName: node,
        timing,
        fallbackAfterMs,
        groups: () => [this.group],
        hasKey: () => this.hasKey,
        send: (advert) => this.deliver(node, advert),
        heartbeatNow: () => this.heartbeatNow.set(node, (this.heartbeatNow.get(node) ?? 0) + 1),
        changed: () => this.changed.set(node, (this.changed.get(node) ?? 0) + 1),
        renew: () => this.renewed.set(node, (this.renewed.get(node) ?? 0) + 1),
        readEvictions: async (asked) => {
          this.reads.push({ node, members: asked });
          return { evicted: asked.filter((m) => this.marked.has(m)), members: this.group.members };
        },
      });
      this.drivers.set(node, d);
    }
  }

  start(): void {
    for (const d of this.drivers.values()) d.refresh();
    // Heartbeats every second, acknowledged 5 ms later while the API server is up.
    const beat = () => {
      const sentAt = this.clock.now();
      this.clock.setTimeout(() => {
        for (const [node, d] of this.drivers)
          if (!this.dead.has(node) && !this.apiDown.has(node)) d.heartbeatAcked(sentAt);
      }, 5);
      this.heartbeats = this.clock.setTimeout(beat, 1_000);
    };
    beat();
  }

  private deliver(from: string, advert: Advert): void {
    this.sent.push(advert);
    for (const [to, d] of this.drivers) {
      if (to === from || this.cut.has(`${from}>${to}`)) continue;
      this.clock.setTimeout(() => {
        if (!this.dead.has(to) && !this.dead.has(from)) d.advert(advert);
      }, this.delayMs);
    }
  }

  d(node: string): PeerDriver {
    return this.drivers.get(node) as PeerDriver;
  }

  /** Nodes that answer for the EIP now: the driver binds it and its kernel lease has not run out. */
  holders(statusEips: (node: string) => string[] = () => []): string[] {
    const now = this.clock.now();
    return [...this.drivers]
      .filter(([node, d]) => {
        if (this.dead.has(node)) return false;
        const bound = d.eipsToBind(statusEips(node)).includes(EIP);
        return bound && d.leaseMs(0) > 0 && d.leaseUntil() > now;
      })
      .map(([node]) => node);
  }

  kill(node: string): void {
    this.dead.add(node);
    this.d(node).stop();
  }

  stop(): void {
    this.clock.clearTimeout(this.heartbeats);
    for (const d of this.drivers.values()) d.stop();
  }
}

describe('PeerDriver', () => {
  let c: Cluster;
  beforeEach(() => {
    c = new Cluster();
  });

  it('lets the node the status names take the EIP once a majority backs it, with a lease of at most L', () => {
    c.start();
    expect(c.holders()).toEqual([]); // start grace: nobody backs anybody for D
    c.clock.advance(DEFAULT_PEER_TIMING.deadIntervalMs + 100);
    expect(c.holders()).toEqual(['node1']);
    const d1 = c.d('node1');
    expect(d1.modes()).toEqual({ egw1: 'peers' });
    // The status's EIPs of a gateway on peers are replaced by what the core holds.
    expect(c.d('node2').eipsToBind([EIP])).toEqual([]);
    expect(d1.eipsToBind([])).toEqual([EIP]);
    const lease = d1.leaseMs(60_000);
    expect(lease).toBeGreaterThan(0);
    expect(lease).toBeLessThanOrEqual(DEFAULT_PEER_TIMING.leaseMs);
    expect(c.changed.get('node1')).toBeGreaterThan(0);
    // Answers keep moving the lease end: the kernel lease is renewed.
    const renewed = c.renewed.get('node1') ?? 0;
    c.clock.advance(500);
    expect(c.renewed.get('node1')).toBeGreaterThan(renewed);
    expect(d1.leaseUntil()).toBeGreaterThan(c.clock.now());
    c.stop();
  });

  it('keeps the EIP on its holder, without a gap, through an API outage everyone sees that outlasts the API fence', () => {
    c.start();
    c.clock.advance(400);
    for (const n of NODES) c.apiDown.add(n);
    const outage = DEFAULT_PEER_TIMING.evictionTimeoutMs * 3;
    for (let t = 0; t < outage; t += 10) {
      c.clock.advance(10);
      // The API fence is up (statusEips empty, apiLeaseMs 0): only the peer core keeps it.
      expect(c.holders()).toEqual(['node1']);
    }
    c.stop();
  });

  it('reads the acknowledgements waiting when its deadline timer fires before it ends a right (no spurious lease-lost)', () => {
    c.start();
    c.clock.advance(400);
    expect(c.holders()).toEqual(['node1']);
    // node1 stalls: the peers' adverts do not reach it; its right runs to the last acknowledgement.
    c.cut.add('node2>node1');
    c.cut.add('node3>node1');
    c.clock.advance(DEFAULT_PEER_TIMING.advertPeriodMs);
    const d1 = c.d('node1');
    const end = d1.leaseUntil();
    c.clock.advance(end - c.clock.now() - 1);
    expect(c.holders()).toEqual(['node1']);
    const changed = c.changed.get('node1') ?? 0;
    // When the loop resumes, node2's newest advert (acknowledging node1's newest) waits in the socket
    // while node1's timer for `end` fires first: a timer armed after node1's, for the same instant.
    const waiting = c.sent.filter((a) => a.node === 'node2').at(-1) as Advert;
    c.clock.setTimeout(() => d1.advert(waiting), end - c.clock.now());
    c.clock.advance(1);
    expect(c.clock.now()).toBe(end);
    expect(d1.leaseUntil()).toBeGreaterThan(end);
    expect(c.changed.get('node1') ?? 0).toBe(changed); // neither a withdraw nor a re-take
    expect(c.holders()).toEqual(['node1']);
    c.stop();
  });

  it('binds nothing from a right that ended while the process was frozen, before the core has stepped', () => {
    c.start();
    c.clock.advance(400);
    const d1 = c.d('node1');
    expect(d1.eipsToBind([])).toEqual([EIP]);
    // SIGSTOP for 2 s: time moves, no callback runs; on SIGCONT another callback (the API fence's
    // timer, a heartbeat response) may ask for the EIPs before the core's timer has stepped it.
    c.clock.t += 2_000;
    expect(d1.eipsToBind([])).toEqual([]);
    expect(d1.leaseUntil()).toBe(Number.POSITIVE_INFINITY);
    expect(d1.holdsAny()).toBe(false);
    expect(d1.claims()).toEqual([]);
    c.stop();
  });

  it('keeps the address of a right that lapsed moments before the core stepped, and leases nothing until it runs again', () => {
    c.start();
    c.clock.advance(400);
    const d1 = c.d('node1');
    // The peers' adverts are held back from node1 (its own still reach them, so theirs acknowledge
    // its newer adverts); node1's right then runs to the acknowledgements it already has.
    c.cut.add('node2>node1');
    c.cut.add('node3>node1');
    c.clock.advance(DEFAULT_PEER_TIMING.advertPeriodMs - 5);
    const end = d1.leaseUntil();
    expect(end).toBeLessThan(Number.POSITIVE_INFINITY);
    // A busy moment: time passes the right's end before the core has stepped; an apply asks now.
    c.clock.t = end + 10;
    const changed = c.changed.get('node1') ?? 0;
    expect(d1.eipsToBind([])).toEqual([EIP]); // the address stays (its kernel lease has ended)
    expect(d1.leaseMs(60_000)).toBe(0); // but nothing is bound or renewed from it
    expect(d1.claims()).toEqual([]);
    // The held-back advert is read: the right runs again and the lease with it, no re-bind needed.
    d1.advert(c.sent.filter((a) => a.node === 'node2').at(-1) as Advert);
    expect(d1.leaseUntil()).toBeGreaterThan(c.clock.now());
    expect(d1.leaseMs(60_000)).toBeGreaterThan(0);
    expect(d1.eipsToBind([])).toEqual([EIP]);
    expect(c.changed.get('node1') ?? 0).toBe(changed);
    c.stop();
  });

  it('hands a dead holder over within D + P + 2 ms of its death, never with two holders', () => {
    c.start();
    c.clock.advance(400);
    expect(c.holders()).toEqual(['node1']);
    c.kill('node1');
    const died = c.clock.now();
    let takenAt: number | undefined;
    for (let t = 0; t < 1_000; t += 1) {
      c.clock.advance(1);
      const h = c.holders();
      expect(h.length).toBeLessThanOrEqual(1);
      if (h.length === 1 && takenAt === undefined) {
        takenAt = c.clock.now();
        expect(h).toEqual(['node2']); // the first of the ranked members still alive
      }
    }
    expect(takenAt).toBeDefined();
    const { deadIntervalMs: D, advertPeriodMs: P } = DEFAULT_PEER_TIMING;
    expect((takenAt as number) - died).toBeLessThanOrEqual(D + P + 2);
    c.stop();
  });

  it('follows a new ranking of the same members, so the successor is the first of the ranking every agent reads now', () => {
    c.start();
    c.clock.advance(400);
    expect(c.holders()).toEqual(['node1']);
    const epoch = c.d('node2').state('egw1')?.config.epoch;
    // node2 now holds an EIP of another gateway: the controller would pick node3 first.
    c.group = view(['node1', 'node3', 'node2']);
    for (const d of c.drivers.values()) d.refresh();
    expect(c.d('node2').state('egw1')?.config.members).toEqual(['node1', 'node3', 'node2']);
    expect(c.d('node2').state('egw1')?.config.epoch).toBe(epoch);
    expect(c.holders()).toEqual(['node1']);
    c.kill('node1');
    const died = c.clock.now();
    c.clock.advance(DEFAULT_PEER_TIMING.deadIntervalMs + DEFAULT_PEER_TIMING.advertPeriodMs + 2);
    expect(c.holders()).toEqual(['node3']);
    expect(c.clock.now() - died).toBeLessThan(DEFAULT_PEER_TIMING.evictionTimeoutMs);
    c.stop();
  });

  it('with a rejoin delay: a holder whose peers died reads their eviction marks, and answers again once both are marked', async () => {
    const J = 900;
    const t = new Cluster(NODES, 2_000, { ...DEFAULT_PEER_TIMING, rejoinDelayMs: J });
    t.start();
    t.clock.advance(2_000); // past everyone's rejoin delay
    expect(t.holders()).toEqual(['node1']);
    t.kill('node2');
    t.kill('node3');
    const flush = async (ms: number) => {
      for (let i = 0; i < ms; i += 10) {
        t.clock.advance(10);
        await Promise.resolve();
      }
    };
    await flush(400);
    // No majority: node1 lets go after L, and asks about node2 and node3.
    expect(t.holders()).toEqual([]);
    expect(t.reads.filter((r) => r.node === 'node1').map((r) => [...r.members])).toContainEqual([
      'node2',
      'node3',
    ]);
    // One marked is not enough; both are (the controller evicted them).
    t.marked.add('node2');
    await flush(J / 2);
    expect(t.holders()).toEqual([]);
    t.marked.add('node3');
    await flush(J / 2);
    expect(t.holders()).toEqual(['node1']);
    // It keeps answering while the marks stay (it reads again every J/3).
    for (let i = 0; i < 30; i++) {
      await flush(100);
      expect(t.holders()).toEqual(['node1']);
    }
    t.stop();
  });

  it('claims a take-over from the node the status names until the status names the successor', () => {
    c.group = { ...c.group, version: '41' };
    c.start();
    c.clock.advance(400);
    // The holder the status names claims nothing: there is nothing to record.
    for (const n of NODES) expect(c.d(n).claims()).toEqual([]);
    c.kill('node1');
    c.clock.advance(DEFAULT_PEER_TIMING.deadIntervalMs + 200);
    const epoch = c.d('node2').state('egw1')?.config.epoch;
    expect(c.d('node2').claims()).toEqual([
      { gateway: 'egw1', ipv4: EIP, ipv6: '', from: 'node1', gatewayResourceVersion: '41', epoch },
    ]);
    expect(c.d('node3').claims()).toEqual([]);
    // The status moving the EIP to a third node is no take-over of node2's to claim.
    c.group = { ...view(NODES, 'node3'), version: '42' };
    c.d('node2').refresh();
    expect(c.d('node2').claims()).toEqual([]);
    c.group = { ...view(NODES, 'node1'), version: '41' };
    c.d('node2').refresh();
    c.d('node3').refresh();
    // The controller recorded it: the status names node2, the claim is gone.
    c.group = { ...view(NODES, 'node2'), version: '42' };
    c.d('node2').refresh();
    c.d('node3').refresh();
    expect(c.d('node2').claims()).toEqual([]);
    expect(c.holders()).toEqual(['node2']);
    c.stop();
  });

  it('a planned stop: the holder lets go at once, the node the status moves to takes it as it reads the move, and the stopping node claims nothing again', () => {
    c.start();
    c.clock.advance(400);
    expect(c.holders()).toEqual(['node1']);
    c.d('node1').handOver();
    expect(c.d('node1').eipsToBind([])).toEqual([]);
    expect(c.holders()).toEqual([]);
    // Released once its withdraw surely completed: adverts of node1 no longer claim the EIP.
    c.clock.advance(DEFAULT_PEER_TIMING.withdrawMs * 2);
    expect(c.sent.filter((a) => a.node === 'node1').at(-1)?.wants).toEqual([]);
    // The controller moves the EIP (the tunnel is marked draining); node2 claims it as it reads
    // that, and holds it after one exchange of adverts (1 ms each way here), not after D.
    c.group = view(NODES, 'node2');
    for (const n of ['node2', 'node3']) c.d(n).refresh();
    c.clock.advance(3);
    expect(c.holders()).toEqual(['node2']);
    // A new run of node1's group (a larger change of members) starts handing over too.
    c.group = view(['node1', 'node2'], 'node1');
    c.d('node1').refresh();
    c.clock.advance(DEFAULT_PEER_TIMING.deadIntervalMs * 3);
    expect(c.d('node1').state('egw1')?.handingOver).toBe(true);
    expect(c.d('node1').eipsToBind([])).toEqual([]);
    c.stop();
  });

  it('counts takeovers, live peers and the mode in the metrics', async () => {
    c.start();
    c.clock.advance(400);
    c.kill('node1');
    c.clock.advance(600);
    const text = await c.metrics.registry.metrics();
    expect(text).toContain('egw_agent_peer_takeovers_total{gateway="egw1"} 1');
    expect(text).toContain('egw_agent_peers_alive{gateway="egw1"} 1');
    expect(text).toContain('egw_agent_peer_mode{gateway="egw1",mode="peers"} 1');
    expect(text).toContain('egw_agent_peer_mode{gateway="egw1",mode="fallback"} 0');
    expect(text).toMatch(/egw_agent_peer_adverts_sent_total \d{2,}/);
    expect(text).toMatch(/egw_agent_peer_adverts_received_total \d{2,}/);
    c.stop();
  });

  it('falls back to the status and the API fence when no peer is heard for fallbackAfter, visibly, and leaves it when one is', async () => {
    for (const a of NODES) for (const b of NODES) c.cut.add(`${a}>${b}`);
    c.start();
    c.clock.advance(c.fallbackAfterMs - 1);
    expect(c.d('node1').modes()).toEqual({ egw1: 'peers' });
    expect(c.d('node1').eipsToBind([EIP])).toEqual([]);
    c.clock.advance(1);
    for (const n of NODES) expect(c.d(n).modes()).toEqual({ egw1: 'silent' });
    // Today's behaviour: the status's EIPs, leased by the API fence alone.
    expect(c.d('node1').eipsToBind([EIP])).toEqual([EIP]);
    expect(c.d('node1').leaseMs(2_500)).toBe(2_500);
    expect(c.events.filter((e) => e.reason === 'PeerFallback')).toHaveLength(3);
    expect(c.events[0]).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'EgressGateway', name: 'egw1' },
    });
    expect(c.events[0]?.message).toMatch(/no valid advert from any peer for 2000 ms/);
    const text = await c.metrics.registry.metrics();
    expect(text).toContain('egw_agent_peer_mode{gateway="egw1",mode="fallback"} 1');

    c.cut.clear();
    c.clock.advance(100);
    for (const n of NODES) expect(c.d(n).modes()).toEqual({ egw1: 'peers' });
    expect(c.events.filter((e) => e.reason === 'PeerProtocol')).toHaveLength(3);
    c.clock.advance(200);
    expect(c.holders()).toEqual(['node1']);
    c.stop();
  });

  it('runs in fallback at once without a key; a key and a heard advert bring the protocol back', () => {
    c.hasKey = false;
    c.start();
    for (const n of NODES) expect(c.d(n).modes()).toEqual({ egw1: 'no-key' });
    // Said in the log and the mode metric; no Event per gateway and agent start.
    expect(c.events).toEqual([]);
    expect(c.d('node1').eipsToBind([EIP])).toEqual([EIP]);
    c.hasKey = true;
    for (const n of NODES) c.d(n).refresh();
    c.clock.advance(100);
    for (const n of NODES) expect(c.d(n).modes()).toEqual({ egw1: 'peers' });
    c.stop();
  });

  it('leaves a gateway with this node alone on the status and the API fence', () => {
    c = new Cluster(['node1']);
    c.start();
    expect(c.d('node1').modes()).toEqual({ egw1: 'single-member' });
    expect(c.d('node1').eipsToBind([EIP])).toEqual([EIP]);
    expect(c.sent).toEqual([]);
    c.stop();
  });

  it('keeps the run when one node joins, and starts a new one with a higher epoch, dropping what the old run held, on a larger change', () => {
    c.start();
    c.clock.advance(400);
    const d1 = c.d('node1');
    const epoch = d1.state('egw1')?.config.epoch as number;
    expect(epoch).toBeGreaterThan(0);
    expect(d1.eipsToBind([])).toEqual([EIP]);
    // node4 joins: the majorities of three and of four meet, the run goes on.
    c.group = view([...NODES, 'node4']);
    d1.refresh();
    expect(d1.state('egw1')?.config.epoch).toBe(epoch);
    expect(d1.state('egw1')?.config.members).toEqual([...NODES, 'node4']);
    expect(d1.eipsToBind([])).toEqual([EIP]);
    // node3 and node4 replaced by three others: a majority of the four need not meet one of the five.
    const next = ['node1', 'node2', 'node5', 'node6', 'node7'];
    c.group = view(next);
    d1.refresh();
    expect(d1.state('egw1')?.config.epoch).toBeGreaterThan(epoch);
    expect(d1.state('egw1')?.config.members).toEqual(next);
    // node3 and node4 left: the new run counts itself alone on marks only once their rights ended.
    expect(d1.state('egw1')?.aloneAfter).toBeGreaterThan(
      c.clock.now() + DEFAULT_PEER_TIMING.evictionTimeoutMs - DEFAULT_PEER_TIMING.fenceMarginMs,
    );
    expect(d1.eipsToBind([])).toEqual([]);
    c.stop();
  });

  it('keeps the run when an EIP joins or leaves: the new EIP is taken within a few ms, the one held is never withdrawn', () => {
    c.start();
    c.clock.advance(400);
    const d1 = c.d('node1');
    const epoch = d1.state('egw1')?.config.epoch;
    const epoch2 = c.d('node2').state('egw1')?.config.epoch;
    expect(c.holders()).toEqual(['node1']);
    const EIP2 = '198.51.100.8';
    const KEY2 = `${EIP2}/`;
    // A second policy brings a second EIP, placed on node2.
    c.group = {
      ...view(NODES),
      eips: [
        { key: KEY, addresses: [EIP] },
        { key: KEY2, addresses: [EIP2] },
      ],
      holders: { [KEY]: 'node1', [KEY2]: 'node2' },
    };
    const changedBefore = c.changed.get('node1') ?? 0;
    for (const d of c.drivers.values()) d.refresh();
    expect(d1.state('egw1')?.config.epoch).toBe(epoch);
    c.clock.advance(10);
    expect(c.d('node2').eipsToBind([])).toEqual([EIP2]);
    expect(c.d('node2').leaseMs(0)).toBeGreaterThan(0);
    expect(d1.eipsToBind([])).toEqual([EIP]);
    expect(c.holders()).toEqual(['node1']);
    // node1 keeps its binding; it is asked to re-apply (its cores now manage another EIP).
    expect(c.changed.get('node1') ?? 0).toBeGreaterThan(changedBefore);
    // The first EIP's policy goes: node1 lets it go at once; node2 keeps the second.
    c.group = { ...c.group, eips: [{ key: KEY2, addresses: [EIP2] }], holders: { [KEY2]: 'node2' } };
    for (const d of c.drivers.values()) d.refresh();
    expect(d1.eipsToBind([])).toEqual([]);
    expect(d1.holdsAny()).toBe(false);
    c.clock.advance(500);
    expect(c.d('node2').eipsToBind([])).toEqual([EIP2]);
    expect(c.d('node2').leaseUntil()).toBeGreaterThan(c.clock.now());
    expect(c.d('node2').state('egw1')?.config.epoch).toBe(epoch2);
    c.stop();
  });

  it('asks for a heartbeat at once when it has no acknowledged one and a peer has', () => {
    c.start();
    c.clock.advance(400);
    c.apiDown.add('node3');
    c.clock.advance(DEFAULT_PEER_TIMING.apiOkWindowMs + 100);
    expect(c.heartbeatNow.get('node3') ?? 0).toBeGreaterThan(0);
    expect(c.heartbeatNow.get('node1') ?? 0).toBe(0);
    c.stop();
  });
});
