import {
  CLUSTER_INFO_NAME,
  DRAINING_ANNOTATION,
  type EgressClusterInfo,
  type EgressClusterPolicy,
  type EgressGateway,
  type EgressPolicy,
  type EgressTunnel,
} from '@egressgateway/crds';
import type { NodeDatapathState } from '@egressgateway/datapath';
import {
  type Clock,
  EGRESS_CLUSTER_INFOS,
  EGRESS_CLUSTER_POLICIES,
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  EGRESS_TUNNELS,
  type EventRecorder,
  type Informer,
  InformerSet,
  isHeartbeatOnlyChange,
  type KubeClient,
  type KubeObject,
  type Logger,
  NAMESPACES,
  PODS,
  type ResourceRef,
  resourceVersionAtLeast,
  silentLogger,
  sleep,
  systemClock,
  toKubeApiError,
} from '@egressgateway/kube';
import {
  clusterBypass,
  desiredNodeState,
  type PodLike,
  podView,
  podViewChanged,
  type TunnelDeviceSettings,
} from './desired.js';
import { fenceDeadline, renewLeaseMs, renewLifetimeSeconds } from './fencing.js';
import type { AgentMetrics } from './metrics.js';

/** The part of `DatapathBinder` the agent uses (a recording fake in tests). */
export interface Binder {
  apply(desired: NodeDatapathState): Promise<{ ok: boolean }>;
  renewEips(lifetimeSeconds: number, leaseMs?: number): Promise<unknown>;
  withdrawEips(): Promise<unknown>;
  withdrawAll(): Promise<unknown>;
}

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
}

type Obj = KubeObject & {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
};

function newerOf<T extends Obj>(a: T | undefined, b: T | undefined): T | undefined {
  if (!a || !b) return a ?? b;
  return resourceVersionAtLeast(a.metadata?.resourceVersion, b.metadata?.resourceVersion) ? a : b;
}

/**
 * The per-node agent: heartbeats through its EgressTunnel while some gateway selects the node,
 * makes the node's datapath match the cluster's decisions (coalesced applies), fences itself when
 * its heartbeats stop being acknowledged, renews the kernel lifetime of its EIPs only after
 * acknowledged heartbeats, and hands its EIPs over on a planned stop.
 */
export class EgressAgent {
  readonly tunnels: Informer<EgressTunnel & Obj>;
  readonly gateways: Informer<EgressGateway & Obj>;
  readonly policies: Informer<EgressPolicy & Obj>;
  readonly clusterPolicies: Informer<EgressClusterPolicy & Obj>;
  readonly pods: Informer<PodLike & Obj>;
  readonly namespaces: Informer<Obj>;
  readonly clusterInfo: Informer<EgressClusterInfo & Obj>;

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly informerSet: InformerSet;
  private readonly stopping = new AbortController();
  /** Fenced: bind no EIPs. True from start until the first heartbeat is acknowledged. */
  private fenced = true;
  private lastAckedSentAt: number | undefined;
  private fenceTimer: unknown;
  private gatewayOverride = new Map<string, EgressGateway & Obj>();
  private applying = false;
  private applyAgain = false;
  private applyIdle: Array<() => void> = [];
  private heartbeatLoop: Promise<void> | undefined;
  private lastApplied = '';
  private heldEips = 0;
  /** Planned handover in progress: bind nothing, keep SNAT and steering. */
  private draining = false;
  private lastComputeMs = 0;
  private lastComputeEnd = 0;
  /** Heartbeat writes acknowledged, for tests and metrics. */
  readonly heartbeats: Array<{ sentAt: number; ackAt: number }> = [];

  constructor(private readonly options: AgentOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({
      component: 'agent',
      node: options.settings.nodeName,
    });
    this.informerSet = new InformerSet(options.client, {
      clock: this.clock,
      logger: this.log,
      onChange: () => this.scheduleApply(),
    });
    const make = <T extends Obj>(ref: ResourceRef) => this.informerSet.add<T>(ref);
    // Heartbeats (ours and other gateway nodes') change nothing in the datapath.
    this.tunnels = this.informerSet.add<EgressTunnel & Obj>(EGRESS_TUNNELS, {
      relevant: (a, b) => !isHeartbeatOnlyChange(a, b),
    });
    this.gateways = make(EGRESS_GATEWAYS);
    this.policies = make(EGRESS_POLICIES);
    this.clusterPolicies = make(EGRESS_CLUSTER_POLICIES);
    // Every pod of the cluster is cached: only the fields the rules read, and only changes to those
    // recompute the datapath.
    this.pods = this.informerSet.add<PodLike & Obj>(PODS, {
      transform: (p) => podView(p) as PodLike & Obj,
      relevant: podViewChanged,
    });
    this.namespaces = make(NAMESPACES);
    this.clusterInfo = make(EGRESS_CLUSTER_INFOS);
  }

  /** True once every informer listed. */
  synced(): boolean {
    return this.informerSet.synced();
  }

  /** True while the agent holds no EIPs because it has no recent acknowledged heartbeat. */
  isFenced(): boolean {
    return this.fenced;
  }

  /** Starts informers and the heartbeat loop; resolves once the caches are synced. */
  async start(): Promise<void> {
    this.informerSet.start();
    await this.informerSet.waitForSync();
    await this.clearDrainingMark();
    this.heartbeatLoop = this.runHeartbeats(this.stopping.signal);
    this.scheduleApply();
  }

  /** The tunnel of this node, once the controller created it. */
  ownTunnel(): (EgressTunnel & Obj) | undefined {
    return this.tunnels.get(this.options.settings.nodeName);
  }

  /** True while some gateway lists this node (only such nodes heartbeat). */
  selected(): boolean {
    const me = this.options.settings.nodeName;
    return this.gatewayList().some((g) => (g.status?.nodeList ?? []).some((n) => n.name === me));
  }

  /** EIPs the gateway status places on this node (or, with `node`, on that node). */
  assignedEips(node = this.options.settings.nodeName): string[] {
    const out: string[] = [];
    for (const g of this.gatewayList()) {
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
    for (const g of this.gatewayList()) {
      for (const n of g.status?.nodeList ?? []) {
        if (n.name === me) continue;
        for (const e of n.eips ?? []) for (const a of [e.ipv4, e.ipv6]) if (a) elsewhere.add(a);
      }
    }
    return eips.every((e) => elsewhere.has(e));
  }

  private gatewayList(): Array<EgressGateway & Obj> {
    const byName = new Map(this.gateways.list().map((g) => [g.metadata?.name ?? '', g] as const));
    for (const [name, g] of this.gatewayOverride) {
      const newer = newerOf(byName.get(name), g);
      if (newer === byName.get(name)) this.gatewayOverride.delete(name);
      else if (newer) byName.set(name, newer);
    }
    return [...byName.values()];
  }

  /** The node's desired datapath from the current caches. */
  desired(): NodeDatapathState {
    const s = this.options.settings;
    const namespaceLabels: Record<string, Record<string, string>> = {};
    for (const ns of this.namespaces.list())
      namespaceLabels[ns.metadata?.name ?? ''] = ns.metadata?.labels ?? {};
    return desiredNodeState({
      nodeName: s.nodeName,
      egressInterface: s.egressInterface,
      tunnel: s.tunnel,
      tunnels: this.tunnels.list(),
      gateways: this.gatewayList(),
      policies: this.policies.list(),
      clusterPolicies: this.clusterPolicies.list(),
      pods: this.pods.list(),
      namespaceLabels,
      bypassDestinations: clusterBypass(this.clusterInfo.get(CLUSTER_INFO_NAME)),
      // Draining releases the binding first (break before make): the new holder binds only after
      // the controller moved the EIP, so two nodes never answer for it.
      fenced: this.fenced || this.draining,
    });
  }

  /**
   * Coalesces changes into one apply at a time. The first change of a quiet period is applied at
   * once; while changes keep coming, each computation waits as long as the previous one took, so a
   * burst (a thousand policies created) cannot hold the event loop and delay heartbeats.
   */
  scheduleApply(): void {
    if (!this.synced()) return;
    if (this.applying) {
      this.applyAgain = true;
      return;
    }
    this.applying = true;
    queueMicrotask(() => void this.applyLoop());
  }

  /** Resolves when no apply is running or queued. */
  whenApplied(): Promise<void> {
    return this.applying ? new Promise((r) => this.applyIdle.push(r)) : Promise.resolve();
  }

  private async applyLoop(): Promise<void> {
    try {
      do {
        this.applyAgain = false;
        // Under a burst, leave the event loop (heartbeats!) at least as long as the last computation took.
        const sinceLast = this.clock.now() - this.lastComputeEnd;
        if (sinceLast < this.lastComputeMs)
          await sleep(this.clock, Math.min(500, this.lastComputeMs - sinceLast));
        const t1 = this.clock.now();
        const desired = this.desired();
        this.lastComputeEnd = this.clock.now();
        this.lastComputeMs = this.lastComputeEnd - t1;
        const key = JSON.stringify(desired);
        if (key === this.lastApplied) continue;
        const t0 = this.clock.now();
        try {
          const report = await this.options.binder.apply(desired);
          this.options.metrics?.applyDuration.observe((this.clock.now() - t0) / 1000);
          if (report.ok) {
            this.lastApplied = key;
            const bound = desired.eips.length > this.heldEips;
            this.heldEips = desired.eips.length;
            // A fresh bind got the binder's default lease: bring it under the fence deadline.
            if (bound) this.renewHeld();
            this.options.metrics?.eipsHeld.set(desired.eips.length);
            this.log.info(
              { eips: desired.eips, steering: desired.steering.length, snat: desired.snat.length },
              'datapath applied',
            );
          } else {
            this.options.metrics?.applyFailures.inc();
            this.log.warn({ report }, 'datapath apply incomplete, will retry');
            this.retryApplyLater();
          }
        } catch (err) {
          this.options.metrics?.applyFailures.inc();
          this.log.error({ err: (err as Error).message }, 'datapath apply failed, will retry');
          this.retryApplyLater();
        }
      } while (this.applyAgain);
    } finally {
      this.applying = false;
      for (const r of this.applyIdle.splice(0)) r();
    }
  }

  private retryApplyLater(): void {
    this.clock.setTimeout(() => {
      this.lastApplied = '';
      this.scheduleApply();
    }, 1000);
  }

  private async runHeartbeats(signal: AbortSignal): Promise<void> {
    const s = this.options.settings;
    while (!signal.aborted) {
      const started = this.clock.now();
      const tunnel = this.ownTunnel();
      if (tunnel) await this.heartbeat(tunnel, started);
      const wait = Math.max(0, started + s.updatePeriodMs - this.clock.now());
      try {
        await sleep(this.clock, wait, signal);
      } catch {
        return;
      }
    }
  }

  /** One status write: parent data when it changed, and the heartbeat while selected. */
  private async heartbeat(tunnel: EgressTunnel & Obj, sentAt: number): Promise<void> {
    const s = this.options.settings;
    const parent = {
      name: s.parent.name,
      ...(s.parent.ipv4 ? { ipv4: s.parent.ipv4 } : {}),
      ...(s.parent.ipv6 ? { ipv6: s.parent.ipv6 } : {}),
    };
    const parentChanged = JSON.stringify(tunnel.status?.tunnel?.parent ?? {}) !== JSON.stringify(parent);
    const beat = this.selected();
    // Not a gateway node: nothing to prove and no EIPs to hold (it stays fenced, harmlessly).
    if (!beat && !parentChanged) return;
    const status: Record<string, unknown> = {};
    if (parentChanged) status.tunnel = { parent };
    if (beat) status.lastHeartbeatTime = new Date(sentAt).toISOString();
    try {
      const written = await this.options.client.patchStatus<EgressTunnel & Obj>(
        EGRESS_TUNNELS,
        s.nodeName,
        undefined,
        { status },
      );
      const ackAt = this.clock.now();
      if (!beat) return;
      this.heartbeats.push({ sentAt, ackAt });
      if (this.heartbeats.length > 1000) this.heartbeats.shift();
      this.options.metrics?.heartbeatLatency.observe((ackAt - sentAt) / 1000);
      this.onAck(sentAt, written?.status?.phase);
    } catch (err) {
      const e = toKubeApiError(err);
      this.options.metrics?.heartbeatFailures.inc();
      this.log.warn({ err: e.message, status: e.status, sentAt }, 'heartbeat failed');
    }
  }

  /**
   * An acknowledged heartbeat proves the node alive only if the controller had not already
   * evicted it: the controller writes `HeartbeatTimeout` (with a resourceVersion precondition, so
   * no heartbeat can slip in between its decision and that write) before it moves the EIPs. A
   * heartbeat that lands after that write comes back with the phase: the EIPs are being moved, so
   * the node lets go at once and renews nothing, whatever its lease says, until the controller
   * has seen it and set the tunnel Ready again.
   */
  private onAck(sentAt: number, phase: string | undefined): void {
    if (phase === 'HeartbeatTimeout') {
      if (!this.fenced) this.fence(this.clock.now(), 'evicted');
      return;
    }
    this.lastAckedSentAt = Math.max(this.lastAckedSentAt ?? 0, sentAt);
    this.renewHeld();
    this.armFence();
    if (this.fenced) this.unfence();
  }

  /**
   * Extends the lease (and kernel lifetime) of held EIPs up to the fence deadline of the last
   * acknowledged heartbeat (counted from its send time). A killed or frozen agent stops extending
   * them, and the kernel silences the EIPs at that deadline.
   */
  private renewHeld(): void {
    const s = this.options.settings;
    if (this.fenced || this.heldEips === 0 || this.lastAckedSentAt === undefined) return;
    const fencing = { evictionTimeoutMs: s.evictionTimeoutMs, marginMs: s.fenceMarginMs };
    const now = this.clock.now();
    const leaseMs = renewLeaseMs(this.lastAckedSentAt, now, fencing);
    if (leaseMs <= 0) return;
    void this.options.binder
      .renewEips(renewLifetimeSeconds(this.lastAckedSentAt, now, fencing), leaseMs)
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'eip lifetime renewal failed'));
  }

  private armFence(): void {
    const s = this.options.settings;
    if (this.lastAckedSentAt === undefined) return;
    const at = fenceDeadline(this.lastAckedSentAt, {
      evictionTimeoutMs: s.evictionTimeoutMs,
      marginMs: s.fenceMarginMs,
    });
    this.clock.clearTimeout(this.fenceTimer);
    this.fenceTimer = this.clock.setTimeout(() => this.fence(at), Math.max(0, at - this.clock.now()));
  }

  private fence(deadline: number, why: 'timeout' | 'evicted' = 'timeout'): void {
    if (this.fenced || this.stopping.signal.aborted) return;
    const s = this.options.settings;
    this.fenced = true;
    this.options.metrics?.fencings.inc();
    this.options.metrics?.fenced.set(1);
    this.log.warn(
      {
        lastAckedSentAt: this.lastAckedSentAt,
        deadline,
        evictionTimeoutMs: s.evictionTimeoutMs,
        marginMs: s.fenceMarginMs,
      },
      why === 'evicted'
        ? 'self-fencing: the controller evicted this node (tunnel HeartbeatTimeout), withdrawing EIPs'
        : 'self-fencing: no heartbeat acknowledged in time, withdrawing EIPs',
    );
    this.options.events?.record({
      type: 'Warning',
      reason: 'SelfFenced',
      message:
        why === 'evicted'
          ? 'the tunnel is in HeartbeatTimeout: EIPs withdrawn while the controller moves them'
          : `no heartbeat acknowledged within ${(s.evictionTimeoutMs - s.fenceMarginMs) / 1000}s: EIPs withdrawn before the controller can move them`,
      involvedObject: {
        kind: 'EgressTunnel',
        name: s.nodeName,
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
      },
    });
    void this.options.binder
      .withdrawEips()
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'withdraw failed'));
    this.lastApplied = '';
    this.scheduleApply();
  }

  /**
   * Lifts the fence after an acknowledged heartbeat, judging from a fresh read of the gateways
   * (the informer may still lag behind a partition), so the node re-binds only what the status
   * says now, and only if the fence deadline of that heartbeat has not passed meanwhile.
   */
  private unfence(): void {
    const s = this.options.settings;
    this.options.client.list<EgressGateway & Obj>(EGRESS_GATEWAYS).then(
      (r) => {
        const acked = this.lastAckedSentAt;
        const deadline =
          acked === undefined
            ? 0
            : fenceDeadline(acked, { evictionTimeoutMs: s.evictionTimeoutMs, marginMs: s.fenceMarginMs });
        if (!this.fenced || this.clock.now() >= deadline || this.stopping.signal.aborted) return;
        for (const g of r.items) this.gatewayOverride.set(g.metadata?.name ?? '', g);
        this.fenced = false;
        this.options.metrics?.fenced.set(0);
        this.log.info({ eips: this.assignedEips() }, 'heartbeat acknowledged: fence lifted');
        this.lastApplied = '';
        this.scheduleApply();
      },
      (err: unknown) =>
        this.log.warn({ err: toKubeApiError(err).message }, 'fresh gateway read failed, staying fenced'),
    );
  }

  private async clearDrainingMark(): Promise<void> {
    const t = this.ownTunnel();
    if (
      !t?.metadata ||
      !(t.metadata as { annotations?: Record<string, string> }).annotations?.[DRAINING_ANNOTATION]
    )
      return;
    await this.options.client
      .patchMerge(EGRESS_TUNNELS, this.options.settings.nodeName, undefined, {
        metadata: { annotations: { [DRAINING_ANNOTATION]: null } },
      })
      .catch((err: unknown) =>
        this.log.warn({ err: toKubeApiError(err).message }, 'could not clear the draining mark'),
      );
  }

  /**
   * Planned handover: marks the tunnel as draining (the controller moves this node's EIPs at
   * once), keeps heartbeating until the gateway status no longer places EIPs here or the bound
   * passes, then withdraws everything it owns.
   */
  async stop(options: { handover?: boolean } = {}): Promise<void> {
    const s = this.options.settings;
    if (options.handover !== false && this.assignedEips().length > 0) {
      const started = this.clock.now();
      const bound = s.handoverTimeoutMs ?? s.evictionTimeoutMs + 2000;
      this.log.info({ eips: this.assignedEips(), boundMs: bound }, 'planned handover: draining');
      this.draining = true;
      this.lastApplied = '';
      this.scheduleApply();
      await this.whenApplied();
      try {
        await this.options.client.patchMerge(EGRESS_TUNNELS, s.nodeName, undefined, {
          metadata: { annotations: { [DRAINING_ANNOTATION]: new Date(this.clock.now()).toISOString() } },
        });
        const mine = this.assignedEips();
        while (!this.placedElsewhere(mine) && this.clock.now() - started < bound) await sleep(this.clock, 20);
        const done = this.placedElsewhere(mine);
        this.log.info(
          { ms: this.clock.now() - started, eips: mine, placedElsewhere: done },
          'planned handover: done waiting',
        );
        if (done) await sleep(this.clock, s.handoverLingerMs ?? 1000);
      } catch (err) {
        this.log.warn({ err: toKubeApiError(err).message }, 'planned handover: could not mark draining');
      }
    }
    this.stopping.abort();
    this.clock.clearTimeout(this.fenceTimer);
    await this.heartbeatLoop;
    await this.whenApplied();
    await this.options.binder.withdrawAll();
    await this.informerSet.stop();
    this.log.info({}, 'agent stopped: datapath withdrawn');
  }
}
