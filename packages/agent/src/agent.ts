import {
  CLUSTER_INFO_NAME,
  type EgressClusterInfo,
  type EgressClusterPolicy,
  type EgressGateway,
  type EgressPolicy,
  type EgressTunnel,
  PEERS_CONDITION,
} from '@egressgateway/crds';
import type { NodeDatapathState } from '@egressgateway/datapath';
import {
  type Clock,
  DEFAULT_HEARTBEAT_NAMESPACE,
  EGRESS_CLUSTER_INFOS,
  EGRESS_CLUSTER_POLICIES,
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  EGRESS_TUNNELS,
  type EventRecorder,
  type Informer,
  InformerSet,
  type KubeClient,
  type KubeObject,
  type Logger,
  NAMESPACES,
  OwnWrites,
  PODS,
  podView,
  podViewChanged,
  type ResourceRef,
  silentLogger,
  systemClock,
} from '@egressgateway/kube';
import { type AgentPeerOptions, AgentPeers, readEvictionMarks } from './agent-peers.js';
import type { Binder } from './binder.js';
import { DatapathApplier } from './datapath-applier.js';
import {
  clusterBypass,
  desiredNodeState,
  type PodLike,
  type TunnelDeviceSettings,
  tunnelViewChanged,
} from './desired.js';
import { FenceKeeper } from './fence-keeper.js';
import { Handover } from './handover.js';
import { Heartbeater } from './heartbeater.js';
import { EgressLinkGuard, type EgressLinkWatcher } from './link-guard.js';
import type { AgentMetrics } from './metrics.js';
import { PeersConditionWriter } from './peer-condition.js';
import { GatewaySliceSources } from './slice-sources.js';

export type { Binder } from './binder.js';

/** Agent settings (times in ms). */
export interface AgentSettings {
  nodeName: string;
  egressInterface: string;
  /** The underlay interface and its addresses, written to the tunnel's `status.tunnel.parent`. */
  parent: { name: string; ipv4?: string | undefined; ipv6?: string | undefined };
  tunnel: TunnelDeviceSettings;
  updatePeriodMs: number;
  evictionTimeoutMs: number;
  fenceMarginMs: number;
  /**
   * Namespace of this node's heartbeat Lease: the controller's (the chart runs both in the release
   * namespace; default `kube-system`, as the controller's without a pod namespace).
   */
  heartbeatNamespace?: string;
  /**
   * How often the acknowledged heartbeat is copied to the tunnel's `status.lastHeartbeatTime`
   * (default 30 s; also on the first beat and on a phase change). Upstream's agent wrote it every
   * beat; here the heartbeat itself is the Lease.
   */
  heartbeatStatusPeriodMs?: number;
  /** How long a planned handover waits for the EIPs to be placed elsewhere (default eviction + 2 s). */
  handoverTimeoutMs?: number;
  /**
   * After a planned handover placed the EIPs elsewhere, how long this node keeps its SNAT and
   * steering before withdrawing them (default 1 s). The workers and the new holder program their
   * nodes from the same status write this node saw; packets they still send here meanwhile leave
   * with the EIP instead of being dropped.
   */
  handoverLingerMs?: number;
}

/** What the agent needs. */
export interface AgentOptions {
  client: KubeClient;
  binder: Binder;
  settings: AgentSettings;
  clock?: Clock;
  logger?: Logger;
  metrics?: AgentMetrics;
  events?: EventRecorder;
  /**
   * Watches the egress interface (the bins pass `@egressgateway/datapath`'s `watchLink`): when it
   * becomes unusable the node hands its EIPs over. Without it, a dead egress link goes unnoticed
   * as long as heartbeats get through another path.
   */
  watchEgressLink?: EgressLinkWatcher;
  /**
   * Gateway peers (docs/peers.md): the agents of a gateway decide among themselves who answers for
   * its EIPs, so egress survives an API server outage and a dead gateway node hands over within D.
   * Absent: the agent fences on the API alone, as before.
   */
  peers?: AgentPeerOptions;
}

type Obj = KubeObject & {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
};
type Gateway = EgressGateway & Obj;

/**
 * The per-node agent: heartbeats through its heartbeat Lease while some gateway selects the node,
 * makes the node's datapath match the cluster's decisions (coalesced applies), fences itself when
 * its heartbeats stop being acknowledged, renews the kernel lifetime of its EIPs only after
 * acknowledged heartbeats, and hands its EIPs over on a planned stop.
 *
 * It composes one part per job: {@link Heartbeater}, {@link FenceKeeper}, {@link DatapathApplier}
 * and {@link Handover}, over one set of informers.
 */
export class EgressAgent {
  readonly tunnels: Informer<EgressTunnel & Obj>;
  readonly gateways: Informer<Gateway>;
  readonly policies: Informer<EgressPolicy & Obj>;
  readonly clusterPolicies: Informer<EgressClusterPolicy & Obj>;
  readonly pods: Informer<PodLike & Obj>;
  readonly namespaces: Informer<Obj>;
  readonly clusterInfo: Informer<EgressClusterInfo & Obj>;
  /** On a gateway node, the endpoint slices of its gateways' policies (SNAT sources on every node). */
  readonly sliceSources: GatewaySliceSources;

  private readonly log: Logger;
  private readonly informerSet: InformerSet;
  private readonly stopping = new AbortController();
  /** The gateways as read fresh before the fence was lifted, until the informer catches up. */
  private readonly freshGateways: OwnWrites<Gateway>;
  private readonly heartbeater: Heartbeater;
  private readonly fence: FenceKeeper<Gateway[]>;
  private readonly applier: DatapathApplier;
  private readonly handover: Handover;
  private readonly linkGuard: EgressLinkGuard | undefined;
  private readonly peers: AgentPeers | undefined;
  /** Removes the GatewayPeers condition an earlier run with peers left (this run has none). */
  private leftoverCondition: PeersConditionWriter | undefined;
  private heartbeatLoop: Promise<void> | undefined;

  constructor(private readonly options: AgentOptions) {
    const clock = options.clock ?? systemClock;
    const s = options.settings;
    const log = (options.logger ?? silentLogger).child({ component: 'agent', node: s.nodeName });
    this.log = log;
    const { client, metrics, binder } = options;
    this.informerSet = new InformerSet(client, {
      clock,
      logger: log,
      onChange: () => {
        this.sliceSources.update(this.freshGateways.list());
        this.scheduleApply();
      },
    });
    this.sliceSources = new GatewaySliceSources({
      client,
      nodeName: s.nodeName,
      clock,
      log,
      onChange: () => this.scheduleApply(),
    });
    const make = <T extends Obj>(ref: ResourceRef) => this.informerSet.add<T>(ref);
    // Heartbeats are Leases this agent does not watch; the slow `lastHeartbeatTime` copies, phases
    // and marks of draining change nothing in the datapath.
    this.tunnels = this.informerSet.add<EgressTunnel & Obj>(EGRESS_TUNNELS, {
      notifyWhen: tunnelViewChanged,
    });
    this.gateways = make(EGRESS_GATEWAYS);
    this.policies = make(EGRESS_POLICIES);
    this.clusterPolicies = make(EGRESS_CLUSTER_POLICIES);
    // Only this node's pods (to steer): the sources other nodes send here for SNAT come from the
    // endpoint slices (sliceSources). Only the fields the rules read are cached, and only changes
    // to those recompute the datapath.
    this.pods = this.informerSet.add<PodLike & Obj>(PODS, {
      transform: (p) => podView(p) as PodLike & Obj,
      notifyWhen: podViewChanged,
      selectors: { fieldSelector: `spec.nodeName=${s.nodeName}` },
    });
    this.namespaces = make(NAMESPACES);
    this.clusterInfo = make(EGRESS_CLUSTER_INFOS);
    this.freshGateways = new OwnWrites(this.gateways);

    this.applier = new DatapathApplier({
      clock,
      log,
      metrics,
      binder,
      ready: () => this.synced(),
      desired: () => this.desired(),
      leaseMs: () => this.peers?.leaseMs(this.fence.bindLeaseMs()) ?? this.fence.bindLeaseMs(),
    });
    this.fence = new FenceKeeper({
      clock,
      log,
      metrics,
      events: options.events,
      nodeName: s.nodeName,
      evictionTimeoutMs: s.evictionTimeoutMs,
      fenceMarginMs: s.fenceMarginMs,
      binder,
      heldEips: () => this.applier.heldEips,
      assignedEips: () => this.assignedEips(),
      stopped: () => this.stopping.signal.aborted,
      freshRead: async () => (await client.list<Gateway>(EGRESS_GATEWAYS)).items,
      adopt: (gateways) => {
        for (const g of gateways) this.freshGateways.record(g);
      },
      changed: () => this.applier.reapply(),
      leaseCap: () => this.peers?.driver.leaseUntil() ?? Number.POSITIVE_INFINITY,
      keepEips: () => this.peers?.driver.holdsAny() ?? false,
    });
    this.heartbeater = new Heartbeater({
      client,
      clock,
      log,
      metrics,
      nodeName: s.nodeName,
      namespace: s.heartbeatNamespace ?? DEFAULT_HEARTBEAT_NAMESPACE,
      evictionTimeoutMs: s.evictionTimeoutMs,
      parent: s.parent,
      updatePeriodMs: s.updatePeriodMs,
      statusPeriodMs: s.heartbeatStatusPeriodMs,
      ownTunnel: () => this.ownTunnel(),
      selected: () => this.selected(),
      acknowledged: (sentAt, phase) => {
        this.fence.acknowledged(sentAt, phase);
        // An eviction is no acknowledgement for the peers either (and restarts their rejoin delay).
        this.peers?.driver.heartbeatAcked(sentAt, phase === 'HeartbeatTimeout');
      },
    });
    this.handover = new Handover({
      client,
      clock,
      log,
      nodeName: s.nodeName,
      timeoutMs: s.handoverTimeoutMs ?? s.evictionTimeoutMs + 2000,
      lingerMs: s.handoverLingerMs ?? 1000,
      ownTunnel: () => this.ownTunnel(),
      assignedEips: () => this.assignedEips(),
      placedElsewhere: (eips) => this.placedElsewhere(eips),
      release: () => {
        this.applier.reapply();
        return this.applier.whenApplied();
      },
      stopping: () => this.peers?.driver.handOver(),
    });
    this.linkGuard =
      options.watchEgressLink === undefined
        ? undefined
        : new EgressLinkGuard({
            watch: options.watchEgressLink,
            egressInterface: s.egressInterface,
            nodeName: s.nodeName,
            handover: this.handover,
            log,
            metrics,
            events: options.events,
          });
    this.peers =
      options.peers === undefined
        ? undefined
        : new AgentPeers({
            clock,
            log,
            metrics,
            events: options.events,
            nodeName: s.nodeName,
            peers: options.peers,
            binder,
            gateways: () => this.freshGateways.list(),
            tunnels: () => this.tunnels.list(),
            apiLeaseMs: () => this.fence.bindLeaseMs(),
            heldEips: () => this.applier.heldEips,
            reapply: () => this.applier.reapply(),
            heartbeatNow: () => this.heartbeater.wake(),
            readEvictions: (members, gateway) =>
              readEvictionMarks(
                client,
                s.heartbeatNamespace ?? DEFAULT_HEARTBEAT_NAMESPACE,
                members,
                gateway,
              ),
            client,
          });
  }

  /** Heartbeat writes acknowledged (the last 1 000), for tests and metrics. */
  get heartbeats(): ReadonlyArray<{ sentAt: number; ackAt: number }> {
    return this.heartbeater.acks;
  }

  /** True once every informer listed (on a gateway node, its gateways' endpoint slices too). */
  synced(): boolean {
    return this.informerSet.synced() && this.sliceSources.synced();
  }

  /** True while the agent holds no EIPs because it has no recent acknowledged heartbeat. */
  isFenced(): boolean {
    return this.fence.fenced;
  }

  /** Starts informers and the heartbeat loop; resolves once the caches are synced. */
  async start(): Promise<void> {
    this.informerSet.start();
    await this.informerSet.waitForSync();
    await this.handover.clearMark();
    this.heartbeatLoop = this.heartbeater.run(this.stopping.signal);
    await this.peers?.start();
    // Without peers, a GatewayPeers condition an earlier run with peers left would mislead: remove it.
    if (
      this.peers === undefined &&
      this.ownTunnel()?.status?.conditions?.some((c) => c.type === PEERS_CONDITION)
    ) {
      this.leftoverCondition = new PeersConditionWriter({
        client: this.options.client,
        clock: this.options.clock ?? systemClock,
        log: this.log,
        nodeName: this.options.settings.nodeName,
        current: () => this.ownTunnel()?.status?.conditions,
      });
      this.leftoverCondition.set(undefined);
    }
    this.scheduleApply();
    await this.linkGuard?.start();
  }

  /** The tunnel of this node, once the controller created it. */
  ownTunnel(): (EgressTunnel & Obj) | undefined {
    return this.tunnels.get(this.options.settings.nodeName);
  }

  /** True while some gateway lists this node (only such nodes heartbeat). */
  selected(): boolean {
    const me = this.options.settings.nodeName;
    return this.freshGateways.list().some((g) => (g.status?.nodeList ?? []).some((n) => n.name === me));
  }

  /** EIPs the gateway status places on this node (or, with `node`, on that node). */
  assignedEips(node = this.options.settings.nodeName): string[] {
    const out: string[] = [];
    for (const g of this.freshGateways.list()) {
      for (const n of g.status?.nodeList ?? []) {
        if (n.name !== node) continue;
        for (const e of n.eips ?? []) {
          if (e.ipv4) out.push(e.ipv4);
          if (e.ipv6) out.push(e.ipv6);
        }
      }
    }
    return out;
  }

  /** True when every address in `eips` is placed on some other node. */
  private placedElsewhere(eips: readonly string[]): boolean {
    const me = this.options.settings.nodeName;
    const elsewhere = new Set<string>();
    for (const g of this.freshGateways.list()) {
      for (const n of g.status?.nodeList ?? []) {
        if (n.name === me) continue;
        for (const e of n.eips ?? []) for (const a of [e.ipv4, e.ipv6]) if (a) elsewhere.add(a);
      }
    }
    return eips.every((e) => elsewhere.has(e));
  }

  /** The node's desired datapath from the current caches. */
  desired(): NodeDatapathState {
    const s = this.options.settings;
    this.peers?.refresh();
    const namespaceLabels: Record<string, Record<string, string>> = {};
    for (const ns of this.namespaces.list())
      namespaceLabels[ns.metadata?.name ?? ''] = ns.metadata?.labels ?? {};
    const state = desiredNodeState({
      nodeName: s.nodeName,
      egressInterface: s.egressInterface,
      tunnel: s.tunnel,
      tunnels: this.tunnels.list(),
      gateways: this.freshGateways.list(),
      policies: this.policies.list(),
      clusterPolicies: this.clusterPolicies.list(),
      pods: this.pods.list(),
      namespaceLabels,
      policyAddresses: (key) => this.sliceSources.addresses(key),
      bypassDestinations: clusterBypass(this.clusterInfo.get(CLUSTER_INFO_NAME)),
      // Draining releases the binding first (break before make): the new holder binds only after
      // the controller moved the EIP, so two nodes never answer for it.
      fenced: this.fence.fenced || this.handover.draining,
    });
    // With peers, the cores decide the EIPs of their gateways; a handover releases them all.
    if (this.peers === undefined || this.handover.draining) return state;
    return { ...state, eips: this.peers.eipsToBind(state.eips) };
  }

  /** Applies the desired datapath soon (coalesced; see {@link DatapathApplier}). */
  scheduleApply(): void {
    this.applier.schedule();
  }

  /** Resolves when no apply is running or queued. */
  whenApplied(): Promise<void> {
    return this.applier.whenApplied();
  }

  /**
   * Stops: with a planned handover first (unless `handover: false`, or the node holds nothing),
   * then stops heartbeating and withdraws everything the binder owns.
   */
  async stop(options: { handover?: boolean } = {}): Promise<void> {
    this.linkGuard?.stop();
    if (options.handover !== false) await this.handover.run();
    this.stopping.abort();
    this.fence.disarm();
    await this.peers?.stop();
    this.leftoverCondition?.stop();
    await this.heartbeatLoop;
    await this.applier.whenApplied();
    await this.options.binder.withdrawAll();
    await Promise.all([this.informerSet.stop(), this.sliceSources.stop()]);
    this.log.info({}, 'agent stopped: datapath withdrawn');
  }
}
