import { type EgressGateway, type EgressTunnel, PEER_CLAIM_ANNOTATION } from '@egressgateway/crds';
import {
  type Clock,
  EGRESS_GATEWAYS,
  type EventRecorder,
  type HeartbeatLease,
  heartbeatLeaseEvicted,
  heartbeatLeaseName,
  type KubeClient,
  LEASES,
  type Logger,
  toKubeApiError,
} from '@egressgateway/kube';
import type { Advert, AdvertKey, PeerTiming, TransportRejection } from '@egressgateway/peers';
import type { Binder } from './binder.js';
import type { AgentMetrics } from './metrics.js';
import { PeerClaimWriter } from './peer-claim-writer.js';
import { PeersConditionWriter, peersCondition } from './peer-condition.js';
import { type EvictionRead, PeerDriver } from './peer-driver.js';
import { type PeerGroupView, peerGroups } from './peer-groups.js';

/** What the agent hands the transport: whom to admit adverts from and where admitted ones go. */
export interface PeerLinkHooks {
  /** For a gateway this node is a member of: member → node address; otherwise `undefined`. */
  members(group: string): ReadonlyMap<string, string> | undefined;
  /** An advert that passed every check. */
  onAdvert(advert: Advert): void;
  /** A refused datagram or an advert that could not be sent (counted, never acted on). */
  onReject(reason: TransportRejection): void;
}

/** The transport as the agent uses it (`@egressgateway/peers`' `PeerTransport`, or a test double). */
export interface PeerLink {
  start(): Promise<void>;
  /** Signs and sends an advert to the other members of its gateway. */
  send(advert: Advert): unknown;
  close(): Promise<void>;
}

/**
 * The members whose heartbeat Lease (in `namespace`) carries the controller's eviction mark, read
 * now, one GET each, in parallel, and, with `gateway`, that EgressGateway's nodes in the same round
 * (a holder whose list of members differs is not alone). A Lease that cannot be read (missing,
 * forbidden, API server unreachable) counts as not marked, and a gateway that cannot be read as no
 * mark at all, with the reason in `error`: the holder then does not rely on the read.
 */
export async function readEvictionMarks(
  client: Pick<KubeClient, 'get'>,
  namespace: string,
  members: readonly string[],
  gateway?: string,
): Promise<EvictionRead> {
  const [marked, nodes] = await Promise.all([
    Promise.all(
      members.map(async (m) => {
        try {
          const lease = await client.get<HeartbeatLease>(LEASES, heartbeatLeaseName(m), namespace);
          return heartbeatLeaseEvicted(lease) ? m : undefined;
        } catch {
          return undefined;
        }
      }),
    ),
    gateway === undefined
      ? Promise.resolve(undefined)
      : client.get<EgressGateway>(EGRESS_GATEWAYS, gateway).then(
          (g) => (g.status?.nodeList ?? []).map((n) => n.name),
          (err: unknown) => new Error(`gateway ${gateway}: ${toKubeApiError(err).message}`),
        ),
  ]);
  if (nodes instanceof Error) return { evicted: [], error: nodes.message };
  const evicted = marked.filter((m): m is string => m !== undefined);
  return nodes === undefined ? { evicted } : { evicted, members: nodes };
}

/** Gateway peer settings of the agent (see docs/operations.md, "Gateway peers"). */
export interface AgentPeerOptions {
  /** Protocol timing (P, D, L, w, ρ, and the agent's own E and M), checked at start. */
  timing: PeerTiming;
  /** A gateway none of whose members was heard from for this long after the start runs on API fencing. */
  fallbackAfterMs: number;
  /** The HMAC keys now (the first signs, all verify); empty: fallback. */
  keys(): readonly AdvertKey[];
  /** Opens the transport with the agent's hooks (main.ts: a `PeerTransport` on the node's addresses). */
  link(hooks: PeerLinkHooks): PeerLink;
  /** Wall-clock ms (default `Date.now`). */
  wallNow?: () => number;
}

/** What {@link AgentPeers} needs from the agent. */
export interface AgentPeersOptions {
  clock: Clock;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  events?: Pick<EventRecorder, 'record'> | undefined;
  nodeName: string;
  peers: AgentPeerOptions;
  binder: Pick<Binder, 'renewEips' | 'releaseEips'>;
  /** The gateways and tunnels as cached. */
  gateways(): readonly EgressGateway[];
  tunnels(): readonly EgressTunnel[];
  /** Lease (ms from now) the API fence allows (`FenceKeeper.bindLeaseMs`). */
  apiLeaseMs(): number;
  /** EIPs bound on this node now. */
  heldEips(): number;
  /** Re-apply the datapath. */
  reapply(): void;
  /** Write a heartbeat now. */
  heartbeatNow(): void;
  /** Reads members' heartbeat Leases and the gateway's nodes (see `PeerDriverOptions.readEvictions`). */
  readEvictions?(members: readonly string[], gateway: string): Promise<EvictionRead>;
  /**
   * Where take-overs are claimed (`PEER_CLAIM_ANNOTATION` on this node's EgressTunnel), so the
   * controller records them at once; without it nothing is claimed and the status follows by eviction.
   */
  client?: Pick<KubeClient, 'patchMerge' | 'patchStatus'> | undefined;
}

/**
 * The agent's gateway peers: a {@link PeerDriver} fed from the caches, the transport, and kernel
 * lease renewals (each lease move is one `renewEips` made at once; the binder writes them off its
 * apply queue and the newest lease end wins). An EIP a core stops claiming is released at once
 * (`releaseEips`: its lease element is deleted, then its address), before the re-apply of the
 * datapath gets to it. The agent asks it which EIPs to bind ({@link AgentPeers.eipsToBind}) and
 * for how long ({@link AgentPeers.leaseMs}).
 */
export class AgentPeers {
  readonly driver: PeerDriver;
  /** Keeps this node's peer claims in the API (when a client is given). */
  readonly claims: PeerClaimWriter | undefined;
  /** Keeps this node's `GatewayPeers` tunnel condition in the API (when a client is given). */
  readonly condition: PeersConditionWriter | undefined;
  private readonly link: PeerLink;
  private groups: readonly PeerGroupView[] = [];
  private portOpen = true;
  /**
   * The transport has started: before that, the agent's first applies may already build the cores
   * (and they send at once), but there is no socket to send on.
   */
  private linkStarted = false;
  /** Addresses the cores held at the last lease move. */
  private peerHeld = new Set<string>();

  constructor(private readonly o: AgentPeersOptions) {
    const { clock, log, metrics, events, nodeName, peers } = o;
    const plog = log.child({ component: 'peers' });
    this.link = peers.link({
      members: (group) => this.groups.find((g) => g.name === group)?.addresses,
      onAdvert: (advert) => this.driver.advert(advert),
      onReject: (reason) => metrics?.peerAdvertsRejected.inc({ reason }),
    });
    this.driver = new PeerDriver({
      clock,
      ...(peers.wallNow ? { wallNow: peers.wallNow } : {}),
      log: plog,
      metrics,
      events,
      nodeName,
      timing: peers.timing,
      fallbackAfterMs: peers.fallbackAfterMs,
      groups: () => this.groups,
      hasKey: () => peers.keys().length > 0,
      portOpen: () => this.portOpen,
      // Without a key nothing can be signed: the gateways are in fallback, nothing is sent.
      send: (advert) => {
        if (this.linkStarted && this.portOpen && peers.keys().length > 0) this.link.send(advert);
      },
      heartbeatNow: () => o.heartbeatNow(),
      ...(o.readEvictions ? { readEvictions: o.readEvictions } : {}),
      changed: () => {
        this.syncClaims();
        this.syncCondition();
        o.reapply();
      },
      renew: () => this.renew(),
    });
    this.claims =
      o.client === undefined
        ? undefined
        : new PeerClaimWriter({
            client: o.client,
            clock,
            log: plog,
            nodeName,
            ...(peers.wallNow ? { wallNow: peers.wallNow } : {}),
            current: () =>
              (
                o.tunnels().find((t) => t.metadata?.name === nodeName)?.metadata as
                  | { annotations?: Record<string, string> }
                  | undefined
              )?.annotations?.[PEER_CLAIM_ANNOTATION],
          });
    this.condition =
      o.client === undefined
        ? undefined
        : new PeersConditionWriter({
            client: o.client,
            clock,
            log: plog,
            nodeName,
            ...(peers.wallNow ? { wallNow: peers.wallNow } : {}),
            current: () => o.tunnels().find((t) => t.metadata?.name === nodeName)?.status?.conditions,
          });
  }

  /**
   * Opens the transport and starts the gateways' cores. A port that cannot be opened does not stop
   * the agent: its gateways run on API fencing (fallback `no-port`) and the error is logged.
   */
  async start(): Promise<void> {
    try {
      await this.link.start();
      this.linkStarted = true;
    } catch (err) {
      this.portOpen = false;
      this.o.log.error(
        { err: (err as Error).message, fix: 'free the port or set peerPort (--peer-port) on every agent' },
        'gateway peers off: the peer port cannot be opened, api fencing decides',
      );
    }
    this.refresh();
  }

  /** Reads the caches again (cheap when nothing changed). */
  refresh(): void {
    this.groups = peerGroups(this.o.nodeName, this.o.gateways(), this.o.tunnels());
    this.driver.refresh();
    this.syncClaims();
    this.syncCondition();
  }

  /** See {@link PeerDriver.eipsToBind}. */
  eipsToBind(statusEips: readonly string[]): string[] {
    return this.driver.eipsToBind(statusEips);
  }

  /** See {@link PeerDriver.leaseMs}. */
  leaseMs(apiLeaseMs: number): number {
    return this.driver.leaseMs(apiLeaseMs);
  }

  /** Stops stepping and closes the transport. */
  async stop(): Promise<void> {
    this.driver.stop();
    this.claims?.stop();
    this.condition?.stop();
    await this.link.close();
  }

  /** One write when the set of take-overs to claim changed (the writer compares). */
  private syncClaims(): void {
    this.claims?.set(this.driver.claims());
  }

  /** One write when the gateways' peer modes changed what the condition says (the writer compares). */
  private syncCondition(): void {
    this.condition?.set(peersCondition(this.driver.modes(), this.o.peers.fallbackAfterMs));
  }

  private renew(): void {
    this.releaseDropped();
    const ms = this.driver.leaseMs(this.o.apiLeaseMs());
    // Also while nothing is bound yet but a core holds an EIP: the take-over's apply may still wait
    // in the queue, and the binder gives the EIPs it binds the newest renewal's deadline.
    if (!(ms > 0) || (this.o.heldEips() === 0 && !this.driver.holdsAny())) return;
    // Not serialised here: the binder renews off its apply queue, folds renewals that arrive while
    // one nft run is in flight, and the newest call wins.
    this.o.binder
      .renewEips(Math.max(1, Math.floor(ms / 1000)), ms)
      .catch((err: unknown) =>
        this.o.log.warn({ err: (err as Error).message }, 'peer eip lease renewal failed'),
      );
  }

  /**
   * Releases at once the addresses a core (in peer mode) held at the last lease move and no longer
   * claims, so the withdraw takes one nft run and one address removal instead of waiting for the
   * datapath's apply queue. An EIP whose right ran out while the core still claims it
   * (`lease-lost`) is not released: its kernel lease ended with the right, and keeping the address
   * lets the next renewal bring it back at once when the acknowledgements return (releasing it
   * made every such flap a full re-bind behind the apply queue: 1-2 s of ARP silence in the lab).
   * EIPs that left peer management (fallback, a gateway gone) are left to the apply: the status
   * may still place them here.
   */
  private releaseDropped(): void {
    const modes = this.driver.modes();
    const held = new Set<string>();
    const claimed = new Set<string>();
    const managed = new Set<string>();
    for (const g of this.groups) {
      if (modes[g.name] !== 'peers') continue;
      const eips = this.driver.state(g.name)?.eips;
      for (const e of g.eips) {
        for (const a of e.addresses) managed.add(a);
        if (eips?.[e.key]?.holding === true) for (const a of e.addresses) held.add(a);
        if (eips?.[e.key]?.wants === true) for (const a of e.addresses) claimed.add(a);
      }
    }
    const dropped = [...this.peerHeld].filter((a) => managed.has(a) && !held.has(a) && !claimed.has(a));
    this.peerHeld = held;
    const release = this.o.binder.releaseEips;
    if (dropped.length === 0 || release === undefined) return;
    release
      .call(this.o.binder, dropped)
      .then((r) => this.o.log.info({ eips: dropped, report: r }, 'peer eips released'))
      .catch((err: unknown) =>
        this.o.log.warn({ eips: dropped, err: (err as Error).message }, 'peer eip release failed'),
      );
  }
}
