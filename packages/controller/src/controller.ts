import {
  CLUSTER_INFO_NAME,
  DEFAULT_MAX_ENDPOINTS_PER_SLICE,
  DRAINING_ANNOTATION,
  type EgressClusterInfo,
  type EgressClusterPolicy,
  type EgressGateway,
  type EgressPolicy,
  type EgressTunnel,
} from '@egressgateway/crds';
import { createEgressReconciler, type EgressState } from '@egressgateway/failover';
import {
  type Clock,
  DEFAULT_HEARTBEAT_NAMESPACE,
  EGRESS_CLUSTER_INFOS,
  EGRESS_CLUSTER_POLICIES,
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  EGRESS_TUNNELS,
  type EventRecorder,
  HEARTBEAT_LEASE_SELECTOR,
  type HeartbeatLease,
  heartbeatLeaseEvicted,
  heartbeatLeaseNode,
  heartbeatLeaseRead,
  type Informer,
  InformerSet,
  type KubeClient,
  LEASES,
  type Logger,
  NAMESPACES,
  NODES,
  OwnWrites,
  type ResourceRef,
  silentLogger,
  systemClock,
  toKubeApiError,
} from '@egressgateway/kube';
import { TunnelAllocator } from './allocator.js';
import { ClusterInfoSync } from './cluster-info.js';
import { EndpointSliceSync } from './endpoint-slice-sync.js';
import { HeartbeatLeases } from './heartbeat-leases.js';
import { HeartbeatObserver, isHeartbeatOnlyChange } from './heartbeats.js';
import type { ControllerMetrics } from './metrics.js';
import { nodeView, nodeViewChanged } from './nodes.js';
import type { NodeObj, Obj } from './objects.js';
import { PeerClaimReport, peerClaimsOf } from './peer-claims.js';
import { PolicyStatusWrites } from './policy-status-writes.js';
import { ReconcileLoop } from './reconcile-loop.js';
import type { ControllerSettings } from './settings.js';
import { type OwnCopies, StatusWriter, type WriteOutcome } from './status-writer.js';
import { TransitionLogger } from './transitions.js';
import { TunnelSync } from './tunnel-sync.js';
import { affectsTunnelPlan } from './tunnels.js';
import { upstreamFinalizersToRelease } from './upstream-finalizer.js';
import { WriteLog, type WriteRecord } from './write-log.js';

export type { WriteRecord } from './write-log.js';

/** What the controller needs; everything else is built from settings. */
export interface ControllerOptions {
  client: KubeClient;
  settings: Pick<
    ControllerSettings,
    | 'eipEvictionTimeoutMs'
    | 'tunnelMonitorPeriodMs'
    | 'rebalance'
    | 'detection'
    | 'tunnelIpv4Cidr'
    | 'tunnelIpv6Cidr'
  > &
    /**
     * The agents' heartbeat period. With it, a tunnels watch that delivers nothing for two periods
     * counts as an API outage (a hung API server keeps connections open and fails no request), and
     * that silence is not judged against any node. Without it only list/watch failures count.
     */
    Partial<Pick<ControllerSettings, 'tunnelUpdatePeriodMs'>>;
  clock?: Clock;
  logger?: Logger;
  metrics?: ControllerMetrics;
  events?: EventRecorder;
  /**
   * Namespace of the agents' heartbeat Leases (the chart: the release namespace, as the agents';
   * default `kube-system`). Only Leases labelled `egressgateway.spidernet.io/heartbeat=true` there
   * are watched.
   */
  heartbeatNamespace?: string;
  /** Informer watchdog (default 60 s); tests shorten it. */
  watchdogMs?: number;
  /**
   * `false` is upstream's `feature.gatewayFailover.enable: false`: a tunnel's phase follows its
   * Node's Ready condition and heartbeats never time out. Default `true`: heartbeat failover with
   * detection at each deadline.
   */
  gatewayFailover?: boolean;
  /** EgressClusterInfo re-detection period (Calico IPPools, ServiceCIDRs are listed, not watched; default 60 s). */
  clusterInfoResyncMs?: number;
  /**
   * Endpoint slices ({@link EndpointSliceSync}): endpoints per slice (upstream's
   * `maxNumberEndpointPerSlice`, default 100) and how long changes are batched (default 100 ms).
   */
  endpointSlices?: { maxPerSlice?: number; debounceMs?: number };
}

/**
 * The egress controller: warm informers on every replica; while leading, it keeps one
 * EgressTunnel per Node with its allocation, runs the failover engine on every change and at the
 * engine's `nextWakeAt` (one timer; the monitor period is only a safety resync), and writes the
 * engine's changes to status subresources. Nothing is written when nothing changed, and nothing
 * at all once the leadership term's signal aborts.
 *
 * It composes one part per job: {@link ReconcileLoop} (when to reconcile), {@link TunnelSync}
 * (one tunnel per node), the engine, {@link StatusWriter} (the writes, in their safe order, with
 * read-your-writes), {@link PolicyStatusWrites} (policy statuses, in the background) and
 * {@link TransitionLogger} (logs, events, metrics).
 */
export class EgressController {
  readonly gateways: Informer<EgressGateway & Obj>;
  readonly tunnels: Informer<EgressTunnel & Obj>;
  readonly policies: Informer<EgressPolicy & Obj>;
  readonly clusterPolicies: Informer<EgressClusterPolicy & Obj>;
  readonly nodes: Informer<NodeObj>;
  readonly namespaces: Informer<Obj>;
  readonly clusterInfos: Informer<EgressClusterInfo & Obj>;
  /** The agents' heartbeat Leases (labelled, in the heartbeat namespace). */
  readonly leases: Informer<HeartbeatLease>;

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly informerSet: InformerSet;
  private readonly observer: HeartbeatObserver;
  private readonly heartbeatLeases: HeartbeatLeases;
  /** Node -> its heartbeat Lease's name: such a node's heartbeat is the Lease, not the tunnel. */
  private readonly leaseOf = new Map<string, string>();
  /** The engine, with its memory of this replica's previous call (replicas in one process each own one). */
  private readonly reconcileEgress = createEgressReconciler();
  private readonly writes: WriteLog;
  private readonly own: OwnCopies;
  private readonly tunnelSync: TunnelSync;
  private readonly writer: StatusWriter;
  private readonly policyWrites: PolicyStatusWrites;
  private readonly transitions: TransitionLogger;
  private readonly loop: ReconcileLoop;
  private readonly clusterInfo: ClusterInfoSync;
  private readonly claimReport: PeerClaimReport;
  /** Keeps every policy's endpoint slices (pods and slices are watched on every replica). */
  readonly endpointSlices: EndpointSliceSync;

  constructor(private readonly options: ControllerOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: 'controller' });
    const s = options.settings;
    this.claimReport = new PeerClaimReport(this.log, options.metrics);
    this.observer = new HeartbeatObserver(
      s.tunnelUpdatePeriodMs === undefined ? Number.POSITIVE_INFINITY : 2 * s.tunnelUpdatePeriodMs,
    );
    this.informerSet = new InformerSet(options.client, {
      clock: this.clock,
      logger: this.log,
      watchdogMs: options.watchdogMs,
      onChange: () => this.trigger(),
    });
    const make = <T extends Obj>(ref: ResourceRef) => this.informerSet.add<T>(ref);
    // Observed time is taken as the informers deliver each heartbeat, on every replica. A node's
    // heartbeat is its Lease's renewTime; a tunnel's lastHeartbeatTime counts only for a node
    // without a Lease (an agent of an older version, during an upgrade): with a Lease it is a slow
    // copy for upstream's users, and judging it too would delay evictions.
    const seen = (t: EgressTunnel & Obj) => {
      const name = t.metadata?.name ?? '';
      if (!this.leaseOf.has(name)) this.observer.observe(name, t.status?.lastHeartbeatTime, this.clock.now());
    };
    const renewed = (l: HeartbeatLease) => {
      const node = heartbeatLeaseNode(l);
      if (!node) return;
      this.leaseOf.set(node, l.metadata?.name ?? '');
      const at = l.spec?.renewTime;
      this.observer.observe(node, at ? `lease:${at}` : undefined, this.clock.now());
    };
    const planTunnels = () => this.tunnelSync.markDirty();
    // While the tunnels' list/watch fails or stays silent, this replica sees no heartbeat; the
    // outage does not count against anyone (HeartbeatObserver).
    const answered = () => {
      const grace = this.observer.delivered(this.clock.now(), s.eipEvictionTimeoutMs);
      if (grace)
        this.log.warn(
          { ...grace, evictionTimeoutMs: s.eipEvictionTimeoutMs },
          'api server answers again: the outage does not count against heartbeats',
        );
    };
    const nodesChanged = () => {
      planTunnels();
      this.clusterInfo.trigger();
    };
    this.tunnels = this.informerSet.add<EgressTunnel & Obj>(EGRESS_TUNNELS, {
      onAdd: (t) => {
        seen(t);
        answered();
        planTunnels();
      },
      onUpdate: (a, b) => {
        seen(b);
        answered();
        if (affectsTunnelPlan(a, b)) planTunnels();
      },
      onDelete: (t) => {
        this.observer.forget(t.metadata?.name ?? '');
        answered();
        planTunnels();
      },
      onError: () => this.observer.lost(this.clock.now()),
      onSynced: answered,
      // A heartbeat of a Ready tunnel only pushes its deadline later: the wake-up already set for
      // the earliest deadline re-runs the engine, so no reconcile per heartbeat (O(1) per write).
      notifyWhen: (a, b) => !isHeartbeatOnlyChange(a, b) || b.status?.phase !== 'Ready',
    });
    // The heartbeats: only this informer receives them (no agent watches Leases).
    this.leases = this.informerSet.add<HeartbeatLease>(LEASES, {
      selectors: {
        namespace: options.heartbeatNamespace ?? DEFAULT_HEARTBEAT_NAMESPACE,
        labelSelector: HEARTBEAT_LEASE_SELECTOR,
      },
      onAdd: (l) => {
        renewed(l);
        answered();
      },
      onUpdate: (_a, b) => {
        renewed(b);
        answered();
      },
      onDelete: (l) => {
        const node = heartbeatLeaseNode(l);
        if (node && this.leaseOf.get(node) === l.metadata?.name) {
          this.leaseOf.delete(node);
          const t = this.tunnels.get(node);
          this.observer.observe(node, t?.status?.lastHeartbeatTime, this.clock.now());
        }
        answered();
      },
      onError: () => this.observer.lost(this.clock.now()),
      onSynced: answered,
      // A renewal of a Ready node only pushes its deadline later (as a tunnel heartbeat did): no
      // reconcile, unless the tunnel must recover or an eviction mark may be lifted.
      notifyWhen: (a, b) => {
        const node = heartbeatLeaseNode(b) ?? '';
        return (
          this.own.tunnels.get(node)?.status?.phase !== 'Ready' ||
          !heartbeatLeaseRead(b) ||
          heartbeatLeaseEvicted(a) ||
          heartbeatLeaseEvicted(b)
        );
      },
    });
    this.gateways = make(EGRESS_GATEWAYS);
    // A policy status this replica wrote, delivered back, changes nothing the engine reads.
    this.policies = this.informerSet.add<EgressPolicy & Obj>(EGRESS_POLICIES, {
      notifyWhen: (_a, b) => !this.policyWrites.delivered('EgressPolicy', b),
    });
    this.clusterPolicies = this.informerSet.add<EgressClusterPolicy & Obj>(EGRESS_CLUSTER_POLICIES, {
      notifyWhen: (_a, b) => !this.policyWrites.delivered('EgressClusterPolicy', b),
    });
    // Nodes are cached as a view; a kubelet's status refresh that changes no field of it keeps the
    // cached object, so it neither runs a reconcile nor makes the engine rebuild what it derived.
    this.nodes = this.informerSet.add<NodeObj>(NODES, {
      onAdd: nodesChanged,
      onUpdate: () => this.clusterInfo.trigger(),
      onDelete: nodesChanged,
      transform: (n) => nodeView(n) as NodeObj,
      cacheWhen: nodeViewChanged,
    });
    this.namespaces = make(NAMESPACES);
    const infoChanged = () => this.clusterInfo.trigger();
    this.clusterInfos = this.informerSet.add<EgressClusterInfo & Obj>(EGRESS_CLUSTER_INFOS, {
      onAdd: infoChanged,
      onUpdate: infoChanged,
      onDelete: infoChanged,
    });
    this.clusterInfo = new ClusterInfoSync({
      client: options.client,
      log: this.log,
      events: options.events,
      nodes: () => this.nodes.list(),
      current: () => this.clusterInfos.get(CLUSTER_INFO_NAME),
      resyncMs: options.clusterInfoResyncMs,
    });

    this.endpointSlices = new EndpointSliceSync({
      client: options.client,
      clock: this.clock,
      log: this.log.child({ component: 'endpoint-slices' }),
      metrics: options.metrics,
      watchdogMs: options.watchdogMs,
      maxPerSlice: options.endpointSlices?.maxPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE,
      debounceMs: options.endpointSlices?.debounceMs,
      policies: () => this.policies.list(),
      clusterPolicies: () => this.clusterPolicies.list(),
      namespaces: () => this.namespaces.list(),
      gateways: () => this.gateways.list(),
    });

    this.writes = new WriteLog(this.clock);
    this.own = {
      tunnels: new OwnWrites(this.tunnels),
      gateways: new OwnWrites(this.gateways),
      policies: new OwnWrites(this.policies),
      clusterPolicies: new OwnWrites(this.clusterPolicies),
    };
    this.tunnelSync = new TunnelSync({
      client: options.client,
      log: this.log,
      allocator: new TunnelAllocator({
        ipv4: s.tunnelIpv4Cidr || undefined,
        ipv6: s.tunnelIpv6Cidr || undefined,
      }),
      writeLog: this.writes,
      nodeNames: () => this.nodes.list().map((n) => n.metadata?.name ?? ''),
      tunnels: () => this.tunnels.list(),
    });
    this.heartbeatLeases = new HeartbeatLeases({
      client: options.client,
      log: this.log,
      metrics: options.metrics,
      leases: this.leases,
      tunnelPhase: (node) => this.own.tunnels.get(node)?.status?.phase,
    });
    this.writer = new StatusWriter({
      client: options.client,
      clock: this.clock,
      log: this.log,
      metrics: options.metrics,
      writeLog: this.writes,
      own: this.own,
      beforeEviction: (tunnel) => this.heartbeatLeases.markEvicted(tunnel),
    });
    this.policyWrites = new PolicyStatusWrites({
      client: options.client,
      log: this.log,
      metrics: options.metrics,
      writeLog: this.writes,
      own: this.own,
      retryIn: (ms) => this.loop.wakeBy(this.clock.now() + ms),
    });
    this.transitions = new TransitionLogger({
      log: this.log,
      metrics: options.metrics,
      events: options.events,
      evictionTimeoutMs: s.eipEvictionTimeoutMs,
      tunnel: (name) => this.tunnels.get(name),
      tunnels: () => this.tunnels.list(),
      gateways: () => this.gateways.list(),
    });
    this.loop = new ReconcileLoop({
      clock: this.clock,
      log: this.log,
      ready: () => this.synced(),
      reconcile: (signal) => this.reconcile(signal),
      observeDuration: (seconds) => options.metrics?.reconcileDuration.observe(seconds),
    });
  }

  /** Every status write this replica made (bounded to the last 10 000). */
  get writeLog(): WriteRecord[] {
    return this.writes.records;
  }

  /** Starts the informers (every replica keeps them warm). */
  start(): void {
    this.informerSet.start();
    this.endpointSlices.start();
  }

  /** True when every informer has listed once. */
  synced(): boolean {
    return this.informerSet.synced();
  }

  /**
   * Resolves when every informer has listed once. The endpoint slices' own informers (Pods, the
   * slice kinds) are not waited for: failover and admission must not wait for a cluster's pods,
   * nor stop when the slice CRDs are missing (`endpointSlices.waitForSync()` waits for them).
   */
  waitForSync(): Promise<void> {
    return this.informerSet.waitForSync();
  }

  /**
   * Acts as leader until `signal` aborts: reconciles now, on every change, and at the engine's
   * wake-up instant. Resolves when the term ends and the last write finished.
   */
  async lead(signal: AbortSignal): Promise<void> {
    this.tunnelSync.markDirty();
    this.options.metrics?.leader.set(1);
    this.log.info({}, 'leading: reconciling');
    this.clusterInfo.lead(signal);
    this.endpointSlices.lead(signal);
    await this.loop.run(signal);
    this.options.metrics?.leader.set(0);
    await this.loop.whenIdle();
    await this.policyWrites.whenIdle();
    await this.clusterInfo.whenIdle();
    await this.endpointSlices.whenIdle();
    this.log.info({ reason: String(signal.reason ?? '') }, 'stopped leading: no more writes');
  }

  /** Stops the informers. */
  async stop(): Promise<void> {
    await Promise.all([this.informerSet.stop(), this.endpointSlices.stop()]);
  }

  /** Asks for a reconcile soon (coalesced), and for an endpoint slice sync after its debounce. */
  trigger(): void {
    this.loop.trigger();
    this.endpointSlices.trigger();
  }

  /**
   * Builds the engine's input from the caches, with this replica's own writes not yet delivered;
   * observed heartbeat times as of `now` (an API outage in progress does not count).
   */
  state(now: number = this.clock.now()): EgressState {
    const draining = (t: EgressTunnel & Obj) => Boolean(t.metadata?.annotations?.[DRAINING_ANNOTATION]);
    // Node-ready mode: every tunnel counts as heard from now, so only Node Ready (and draining)
    // decides its phase, as upstream does with gatewayFailover.enable false.
    const nodeReadyMode = this.options.gatewayFailover === false;
    const namespaceLabels: Record<string, Record<string, string>> = {};
    for (const ns of this.namespaces.list())
      namespaceLabels[ns.metadata?.name ?? ''] = ns.metadata?.labels ?? {};
    const tunnels = this.own.tunnels.list();
    return {
      gateways: this.own.gateways.list() as EgressState['gateways'],
      // Takeovers the gateway peers made (PEER_CLAIM_ANNOTATION): the engine records those it may.
      peerClaims: peerClaimsOf(tunnels, (t, v, m) => this.claimReport.malformed(t, v, m)),
      tunnels: tunnels.map((t) => ({
        tunnel: t as EgressState['tunnels'][number]['tunnel'],
        observedAt: nodeReadyMode ? now : this.observer.observedAt(t.metadata?.name ?? '', now),
        draining: draining(t),
      })),
      nodes: this.nodes.list() as EgressState['nodes'],
      policies: this.own.policies.list() as EgressState['policies'],
      clusterPolicies: this.own.clusterPolicies.list() as EgressState['clusterPolicies'],
      namespaceLabels,
    };
  }

  /**
   * Removes upstream's finalizer from gateways being deleted that no policy names (upstream's
   * controller would; see upstream-finalizer.ts). A conflict waits for the next reconcile, which the
   * gateway's own change triggers.
   */
  private async releaseUpstreamFinalizers(): Promise<void> {
    const releases = upstreamFinalizersToRelease(this.gateways.list(), [
      ...this.policies.list(),
      ...this.clusterPolicies.list(),
    ]);
    for (const r of releases) {
      try {
        await this.options.client.patchMerge(EGRESS_GATEWAYS, r.name, undefined, {
          metadata: { finalizers: r.keep, resourceVersion: r.resourceVersion },
        });
        this.log.info({ gateway: r.name }, 'upstream finalizer removed from a deleted gateway');
      } catch (err) {
        const e = toKubeApiError(err);
        if (e.status !== 409 && e.status !== 404)
          this.log.warn(
            { gateway: r.name, err: e.message, status: e.status },
            'upstream finalizer not removed',
          );
      }
    }
  }

  /** One reconcile: tunnels, the engine, the writes, the report; resolves to the next wake-up. */
  private async reconcile(signal: AbortSignal): Promise<number> {
    await this.tunnelSync.syncIfDirty(signal);
    const s = this.options.settings;
    const now = this.clock.now();
    const state = this.state(now);
    // With the state: evictions are marked against the Leases this decision judged.
    this.heartbeatLeases.snapshot();
    const changes = this.reconcileEgress(
      state,
      { evictionTimeoutMs: s.eipEvictionTimeoutMs, rebalance: s.rebalance },
      now,
    );
    this.transitions.tunnelPhases(changes.tunnels);
    this.claimReport.judged(changes.peerClaims, (node) => {
      const t = state.tunnels.find((x) => x.tunnel.metadata?.name === node);
      return {
        phase: t?.tunnel.status?.phase,
        draining: t?.draining === true,
        heartbeatAgeMs: t?.observedAt == null ? null : now - t.observedAt,
      };
    });
    // The eviction and placement writes go first: no policy status write starts meanwhile.
    const release =
      changes.tunnels.length + changes.gateways.length > 0 ? this.policyWrites.hold() : undefined;
    let written: WriteOutcome;
    try {
      written = await this.writer.write(changes, now, signal, state);
      if (written.complete) {
        this.transitions.announce(changes);
        // Policy statuses follow the written gateway statuses in the background: the next eviction
        // must not wait for hundreds of derived copies (agents and the engine read the gateway's).
        this.policyWrites.want(changes.policies, signal);
      }
    } finally {
      release?.();
    }
    if (!signal.aborted) await this.heartbeatLeases.liftEvictions(() => signal.aborted);
    if (!signal.aborted) await this.heartbeatLeases.markRead(() => signal.aborted);
    if (!signal.aborted) {
      const nodes = new Set(this.nodes.list().map((n) => n.metadata?.name ?? ''));
      await this.heartbeatLeases.collect(nodes, () => signal.aborted);
    }
    this.transitions.updateGauges(changes.problems);
    if (!signal.aborted) await this.releaseUpstreamFinalizers();
    const resync = now + s.tunnelMonitorPeriodMs;
    // In node-ready mode no deadline exists: the engine's wake-up would only be the synthetic one.
    const next =
      s.detection === 'poll' || this.options.gatewayFailover === false
        ? resync
        : Math.min(resync, changes.nextWakeAt ?? Number.POSITIVE_INFINITY);
    // After a conflict, run again once the informers have the newer object (they are ms behind).
    return written.conflicted ? Math.min(next, this.clock.now() + 20) : next;
  }
}
