import {
  computeIpUsage,
  DRAINING_ANNOTATION,
  type EgressClusterPolicy,
  type EgressGateway,
  type EgressPolicy,
  type EgressTunnel,
} from '@egressgateway/crds';
import {
  createEgressReconciler,
  type EgressChanges,
  type EgressEvent,
  type EgressState,
} from '@egressgateway/failover';
import {
  type Clock,
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
  NODES,
  objectKey,
  type ResourceRef,
  resourceVersionAtLeast,
  silentLogger,
  systemClock,
  toKubeApiError,
  updateStatus,
} from '@egressgateway/kube';
import { TunnelAllocator } from './allocator.js';
import { HeartbeatObserver } from './heartbeats.js';
import { forEachLimited } from './limited.js';
import type { ControllerMetrics } from './metrics.js';
import { type NodeView, nodeView, nodeViewChanged } from './nodes.js';
import type { ControllerSettings } from './settings.js';
import { affectsTunnelPlan, planTunnels } from './tunnels.js';

type Obj = KubeObject & {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
};
type NodeObj = Obj & NodeView;

/** Status writes of one kind in flight at once (per reconcile). */
const WRITE_CONCURRENCY = 16;

/** One status write, for the write log (tests and debugging). */
export interface WriteRecord {
  at: number;
  resource: string;
  name: string;
  namespace?: string;
  body: unknown;
}

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
  >;
  clock?: Clock;
  logger?: Logger;
  metrics?: ControllerMetrics;
  events?: EventRecorder;
  /** Informer watchdog (default 60 s); tests shorten it. */
  watchdogMs?: number;
}

/**
 * The egress controller: warm informers on every replica; while leading, it keeps one
 * EgressTunnel per Node with its allocation, runs the failover engine on every change and at the
 * engine's `nextWakeAt` (one timer; the monitor period is only a safety resync), and writes the
 * engine's changes to status subresources. Nothing is written when nothing changed, and nothing
 * at all once the leadership term's signal aborts.
 */
export class EgressController {
  readonly gateways: Informer<EgressGateway & Obj>;
  readonly tunnels: Informer<EgressTunnel & Obj>;
  readonly policies: Informer<EgressPolicy & Obj>;
  readonly clusterPolicies: Informer<EgressClusterPolicy & Obj>;
  readonly nodes: Informer<NodeObj>;
  readonly namespaces: Informer<Obj>;
  /** Every status write this replica made (bounded to the last 10 000). */
  readonly writeLog: WriteRecord[] = [];

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly informerSet: InformerSet;
  private readonly observer = new HeartbeatObserver();
  /** The engine, with its memory of this replica's previous call (replicas in one process each own one). */
  private readonly reconcileEgress = createEgressReconciler();
  private readonly allocator: TunnelAllocator;
  private term: AbortSignal | undefined;
  private wakeTimer: unknown;
  private wakeAt = Number.POSITIVE_INFINITY;
  private running = false;
  private again = false;
  private readonly activeProblems = new Set<string>();
  private idle: Array<() => void> = [];
  private conflicted = false;
  /**
   * Objects as this replica last wrote them, until the informer delivers that version or a newer
   * one: the next reconcile must start from its own writes, or it would redo a move (and repeat its
   * event) against a stale status.
   */
  private readonly written = new Map<string, Map<string, Obj>>();
  /** Nodes or tunnel allocations changed since the tunnel lifecycle was last planned. */
  private tunnelsDirty = true;

  constructor(private readonly options: ControllerOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: 'controller' });
    const s = options.settings;
    this.allocator = new TunnelAllocator({
      ipv4: s.tunnelIpv4Cidr || undefined,
      ipv6: s.tunnelIpv6Cidr || undefined,
    });
    this.informerSet = new InformerSet(options.client, {
      clock: this.clock,
      logger: this.log,
      watchdogMs: options.watchdogMs,
      onChange: () => this.trigger(),
    });
    const make = <T extends Obj>(ref: ResourceRef) => this.informerSet.add<T>(ref);
    const seen = (t: EgressTunnel & Obj) =>
      this.observer.observe(t.metadata?.name ?? '', t.status?.lastHeartbeatTime, this.clock.now());
    // Observed time is taken as the informer delivers each heartbeat, on every replica.
    const planTunnels = () => {
      this.tunnelsDirty = true;
    };
    this.tunnels = this.informerSet.add<EgressTunnel & Obj>(EGRESS_TUNNELS, {
      onAdd: (t) => {
        seen(t);
        planTunnels();
      },
      onUpdate: (a, b) => {
        seen(b);
        if (affectsTunnelPlan(a, b)) planTunnels();
      },
      onDelete: (t) => {
        this.observer.forget(t.metadata?.name ?? '');
        planTunnels();
      },
      // A heartbeat of a Ready tunnel only pushes its deadline later: the wake-up already set for
      // the earliest deadline re-runs the engine, so no reconcile per heartbeat (O(1) per write).
      relevant: (a, b) => !isHeartbeatOnlyChange(a, b) || b.status?.phase !== 'Ready',
    });
    this.gateways = make(EGRESS_GATEWAYS);
    this.policies = make(EGRESS_POLICIES);
    this.clusterPolicies = make(EGRESS_CLUSTER_POLICIES);
    // Nodes are cached as a view; a kubelet's status refresh that changes no field of it keeps the
    // cached object, so it neither runs a reconcile nor makes the engine rebuild what it derived.
    this.nodes = this.informerSet.add<NodeObj>(NODES, {
      onAdd: planTunnels,
      onDelete: planTunnels,
      transform: (n) => nodeView(n) as NodeObj,
      unchanged: (a, b) => !nodeViewChanged(a, b),
    });
    this.namespaces = make(NAMESPACES);
  }

  /** Starts the informers (every replica keeps them warm). */
  start(): void {
    this.informerSet.start();
  }

  /** True when every informer has listed once. */
  synced(): boolean {
    return this.informerSet.synced();
  }

  /** Resolves when every informer has listed once. */
  waitForSync(): Promise<void> {
    return this.informerSet.waitForSync();
  }

  /**
   * Acts as leader until `signal` aborts: reconciles now, on every change, and at the engine's
   * wake-up instant. Resolves when the term ends and the last write finished.
   */
  async lead(signal: AbortSignal): Promise<void> {
    this.term = signal;
    this.tunnelsDirty = true;
    this.options.metrics?.leader.set(1);
    this.log.info({}, 'leading: reconciling');
    this.trigger();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = Number.POSITIVE_INFINITY;
    this.options.metrics?.leader.set(0);
    await this.whenIdle();
    this.log.info({ reason: String(signal.reason ?? '') }, 'stopped leading: no more writes');
  }

  /** Stops the informers. */
  stop(): Promise<void> {
    return this.informerSet.stop();
  }

  /** Asks for a reconcile soon (coalesced). */
  trigger(): void {
    if (!this.term || this.term.aborted || !this.synced()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    queueMicrotask(() => void this.loop());
  }

  private whenIdle(): Promise<void> {
    return this.running ? new Promise((resolve) => this.idle.push(resolve)) : Promise.resolve();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        const signal = this.term;
        if (!signal || signal.aborted) break;
        const started = this.clock.now();
        try {
          await this.reconcile(signal);
        } catch (err) {
          const e = toKubeApiError(err);
          this.log.error({ err: e.message, status: e.status }, 'reconcile failed, retrying');
          this.scheduleWake(this.clock.now() + 1000);
        }
        this.options.metrics?.reconcileDuration.observe((this.clock.now() - started) / 1000);
      } while (this.again);
    } finally {
      this.running = false;
      for (const w of this.idle.splice(0)) w();
    }
  }

  /** The newer of the informer's copy and this replica's last write of an object. */
  private fresh<T extends Obj>(plural: string, informer: Informer<T>, key: string): T | undefined {
    const cached = informer.get(key);
    const mine = this.written.get(plural);
    return mine?.size ? this.newer(mine, key, cached) : cached;
  }

  private newer<T extends Obj>(mine: Map<string, Obj>, key: string, cached: T | undefined): T | undefined {
    const own = mine.get(key) as T | undefined;
    if (!own) return cached;
    if (cached && resourceVersionAtLeast(cached.metadata?.resourceVersion, own.metadata?.resourceVersion)) {
      mine.delete(key);
      return cached;
    }
    return own;
  }

  private freshList<T extends Obj>(plural: string, informer: Informer<T>): T[] {
    const list = informer.list();
    const mine = this.written.get(plural);
    // Runs on every reconcile over every object: skip the per-object lookups when nothing is pending.
    if (!mine?.size) return list;
    return list.map((o) => this.newer(mine, objectKey(o), o) ?? o);
  }

  /** Builds the engine's input from the caches. */
  state(): EgressState {
    const draining = (t: EgressTunnel & Obj) => Boolean(t.metadata?.annotations?.[DRAINING_ANNOTATION]);
    const namespaceLabels: Record<string, Record<string, string>> = {};
    for (const ns of this.namespaces.list())
      namespaceLabels[ns.metadata?.name ?? ''] = ns.metadata?.labels ?? {};
    return {
      gateways: this.freshList('egressgateways', this.gateways) as EgressState['gateways'],
      tunnels: this.freshList('egresstunnels', this.tunnels).map((t) => ({
        tunnel: t as EgressState['tunnels'][number]['tunnel'],
        observedAt: this.observer.observedAt(t.metadata?.name ?? ''),
        draining: draining(t),
      })),
      nodes: this.nodes.list() as EgressState['nodes'],
      policies: this.freshList('egresspolicies', this.policies) as EgressState['policies'],
      clusterPolicies: this.freshList(
        'egressclusterpolicies',
        this.clusterPolicies,
      ) as EgressState['clusterPolicies'],
      namespaceLabels,
    };
  }

  private async reconcile(signal: AbortSignal): Promise<void> {
    this.conflicted = false;
    if (this.tunnelsDirty) {
      this.tunnelsDirty = false;
      try {
        await this.syncTunnels(signal);
      } catch (err) {
        this.tunnelsDirty = true;
        throw err;
      }
    }
    const now = this.clock.now();
    const state = this.state();
    const changes = this.reconcileEgress(
      state,
      {
        evictionTimeoutMs: this.options.settings.eipEvictionTimeoutMs,
        rebalance: this.options.settings.rebalance,
      },
      now,
    );
    await this.apply(changes, now, signal, state);
    this.updateGauges();
    const resync = now + this.options.settings.tunnelMonitorPeriodMs;
    const next =
      this.options.settings.detection === 'poll'
        ? resync
        : Math.min(resync, changes.nextWakeAt ?? Number.POSITIVE_INFINITY);
    // After a conflict, run again once the informers have the newer object (they are ms behind).
    this.scheduleWake(this.conflicted ? Math.min(next, this.clock.now() + 20) : next);
  }

  private scheduleWake(at: number): void {
    if (this.wakeAt <= at && this.wakeAt > this.clock.now()) return;
    this.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    // The engine's instants are exact: eviction happens at the first now > deadline, so wake 1 ms after.
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.trigger();
      },
      Math.max(0, at - this.clock.now() + 1),
    );
  }

  private async syncTunnels(signal: AbortSignal): Promise<void> {
    const nodeNames = this.nodes.list().map((n) => n.metadata?.name ?? '');
    for (const action of planTunnels(nodeNames, this.tunnels.list(), this.allocator)) {
      if (signal.aborted) return;
      const c = this.options.client;
      try {
        if (action.type === 'create') {
          this.log.info({ tunnel: action.name }, 'creating tunnel for node');
          await c.create(EGRESS_TUNNELS, { metadata: { name: action.name }, spec: {} } as Obj);
          this.record('egresstunnels', action.name, undefined, { create: true });
        } else if (action.type === 'delete') {
          this.log.info({ tunnel: action.name }, 'deleting tunnel of removed node');
          await c.delete(EGRESS_TUNNELS, action.name);
          this.record('egresstunnels', action.name, undefined, { delete: true });
        } else {
          this.log.info(
            { tunnel: action.name, mark: action.status.mark, phase: action.status.phase },
            'allocating tunnel',
          );
          await c.patchStatus(EGRESS_TUNNELS, action.name, undefined, { status: action.status });
          this.record('egresstunnels', action.name, undefined, { status: action.status });
        }
      } catch (err) {
        const e = toKubeApiError(err);
        if (e.status !== 409 && e.status !== 404) throw e;
      }
    }
  }

  private async apply(
    changes: EgressChanges,
    now: number,
    signal: AbortSignal,
    decidedOn: EgressState,
  ): Promise<void> {
    const m = this.options.metrics;
    const evict = this.options.settings.eipEvictionTimeoutMs;
    const stop = () => signal.aborted;
    // Writes of one kind go out together (bounded); gateways are written before their policies,
    // tunnel phases alongside. Sequential writes made every reconcile of a mass failover as long
    // as the sum of its round trips, and deadlines that fell due meanwhile waited for all of them.
    for (const t of changes.tunnels) {
      if (t.phase === 'HeartbeatTimeout') {
        const observedAt = this.observer.observedAt(t.name);
        const tunnel = this.tunnels.get(t.name);
        const delay = observedAt === null ? null : now - (observedAt + evict);
        this.log.warn(
          {
            tunnel: t.name,
            lastHeartbeatTime: tunnel?.status?.lastHeartbeatTime,
            evictionTimeoutMs: evict,
            detectionDelayMs: delay,
          },
          'update tunnel status to HeartbeatTimeout',
        );
        if (delay !== null) m?.detectionDelay.observe(Math.max(0, delay) / 1000);
      } else {
        this.log.info(
          { tunnel: t.name, phase: t.phase, reason: t.reason },
          `update tunnel status to ${t.phase}`,
        );
      }
    }
    // Evictions go first, each against the very tunnel object the decision saw (its
    // resourceVersion is the precondition): a heartbeat that landed after that object fails the
    // write with 409, and nothing of this decision is placed; the next reconcile (20 ms later)
    // judges with the heartbeat. Only once every eviction is written do its moves go out, so an
    // agent whose heartbeat is acknowledged after a move was decided reads HeartbeatTimeout in the
    // response and lets go (see the agent). This costs one round trip on a failover.
    const seen = new Map(decidedOn.tunnels.map((t) => [t.tunnel.metadata?.name ?? '', t.tunnel]));
    const evictions = changes.tunnels.filter((t) => t.phase === 'HeartbeatTimeout');
    let evictionsWritten = true;
    await forEachLimited(
      evictions,
      WRITE_CONCURRENCY,
      async (t) => {
        const ok = await this.write(
          EGRESS_TUNNELS,
          t.name,
          undefined,
          seen.get(t.name) as (EgressTunnel & Obj) | undefined,
          (cur) => (cur.status?.phase === t.phase ? undefined : { phase: t.phase }),
        );
        if (!ok) evictionsWritten = false;
      },
      stop,
    );
    if (!evictionsWritten || stop()) return;
    const phases = forEachLimited(
      changes.tunnels.filter((t) => t.phase !== 'HeartbeatTimeout'),
      WRITE_CONCURRENCY,
      async (t) => {
        await this.write(
          EGRESS_TUNNELS,
          t.name,
          undefined,
          this.fresh('egresstunnels', this.tunnels, t.name),
          (cur) => (cur.status?.phase === t.phase ? undefined : { phase: t.phase }),
        );
      },
      stop,
    );
    // Placement (gateways, then their policies) does not wait for the other phase writes.
    const placement = (async () => {
      await forEachLimited(
        changes.gateways,
        WRITE_CONCURRENCY,
        async (g) => {
          const cached = this.fresh('egressgateways', this.gateways, g.name);
          const inUse = { ipv4: [] as string[], ipv6: [] as string[] };
          for (const n of g.nodeList)
            for (const e of n.eips ?? []) {
              if (e.ipv4) inUse.ipv4.push(e.ipv4);
              if (e.ipv6) inUse.ipv6.push(e.ipv6);
            }
          await this.write(EGRESS_GATEWAYS, g.name, undefined, cached, (cur) => {
            const ipUsage = computeIpUsage(cur.spec?.ippools ?? {}, inUse);
            const same =
              JSON.stringify(cur.status?.nodeList ?? []) === JSON.stringify(g.nodeList) &&
              JSON.stringify(cur.status?.ipUsage ?? {}) === JSON.stringify(ipUsage);
            return same ? undefined : { nodeList: g.nodeList, ipUsage };
          });
          m?.decisionToWritten.observe((this.clock.now() - now) / 1000);
        },
        stop,
      );
      if (stop()) return;
      await forEachLimited(
        changes.policies,
        WRITE_CONCURRENCY,
        async (p) => {
          const ref = p.kind === 'EgressPolicy' ? EGRESS_POLICIES : EGRESS_CLUSTER_POLICIES;
          const informer = p.kind === 'EgressPolicy' ? this.policies : this.clusterPolicies;
          const key = p.namespace ? `${p.namespace}/${p.name}` : p.name;
          await this.write(
            ref,
            p.name,
            p.namespace,
            this.fresh(ref.plural, informer as Informer<EgressPolicy & Obj>, key),
            (cur) => (JSON.stringify(cur.status ?? {}) === JSON.stringify(p.status) ? undefined : p.status),
          );
        },
        stop,
      );
    })();
    const [phaseResult, placementResult] = await Promise.allSettled([phases, placement]);
    if (phaseResult.status === 'rejected') throw phaseResult.reason;
    if (placementResult.status === 'rejected') throw placementResult.reason;
    if (stop()) return;
    for (const e of changes.events) this.emit(e);
    // Problems are level-triggered: emit each once when it appears, log when it clears.
    const current = new Set<string>();
    for (const p of changes.problems) {
      const key = JSON.stringify([p.reason, p.involvedObject, p.message]);
      current.add(key);
      if (!this.activeProblems.has(key)) this.emit(p);
    }
    for (const key of this.activeProblems)
      if (!current.has(key)) this.log.info({ problem: key }, 'problem resolved');
    this.activeProblems.clear();
    for (const k of current) this.activeProblems.add(k);
  }

  private emit(e: EgressEvent): void {
    if (e.reason === 'EIPMoved') this.options.metrics?.failovers.inc({ reason: 'moved' });
    const fields = {
      reason: e.reason,
      object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
      from: e.from,
      to: e.to,
      eip: e.eip,
    };
    if (e.type === 'Warning') this.log.warn(fields, e.message);
    else this.log.info(fields, e.message);
    this.options.events?.record({
      type: e.type,
      reason: e.reason,
      message: e.message,
      involvedObject: {
        ...e.involvedObject,
        apiVersion: e.involvedObject.kind === 'Node' ? 'v1' : 'egressgateway.spidernet.io/v1beta1',
      },
    });
  }

  private async write<T extends Obj & { status?: unknown }>(
    ref: ResourceRef,
    name: string,
    namespace: string | undefined,
    cached: T | undefined,
    compute: (cur: T) => object | undefined,
  ): Promise<boolean> {
    try {
      // One attempt: a conflict means the object changed under the decision (a heartbeat landed,
      // a spec changed), so the decision itself is recomputed from the newer cache, not just the patch.
      const r = await updateStatus(this.options.client, ref, name, namespace, cached, compute, 1);
      if (r.written) {
        const mine = this.written.get(ref.plural) ?? new Map<string, Obj>();
        this.written.set(ref.plural, mine);
        mine.set(namespace ? `${namespace}/${name}` : name, r.object);
        this.options.metrics?.writes.inc({ resource: ref.plural });
        this.record(ref.plural, name, namespace, (r.object as { status?: unknown }).status);
      }
      return true;
    } catch (err) {
      const e = toKubeApiError(err);
      this.options.metrics?.apiErrors.inc({ op: `patch ${ref.plural}/status`, status: String(e.status) });
      if (e.status !== 409) throw e;
      this.log.debug({ resource: ref.plural, name }, 'status changed meanwhile, recomputing');
      this.conflicted = true;
      return false;
    }
  }

  private record(resource: string, name: string, namespace: string | undefined, body: unknown): void {
    this.writeLog.push({ at: this.clock.now(), resource, name, ...(namespace ? { namespace } : {}), body });
    if (this.writeLog.length > 10_000) this.writeLog.splice(0, this.writeLog.length - 10_000);
  }

  private updateGauges(): void {
    const m = this.options.metrics;
    if (!m) return;
    const phases = new Map<string, number>();
    for (const t of this.tunnels.list())
      phases.set(t.status?.phase ?? 'Pending', (phases.get(t.status?.phase ?? 'Pending') ?? 0) + 1);
    m.tunnelPhases.reset();
    for (const [phase, n] of phases) m.tunnelPhases.set({ phase }, n);
    let assigned = 0;
    for (const g of this.gateways.list())
      for (const n of g.status?.nodeList ?? [])
        assigned += (n.eips ?? []).filter((e) => e.ipv4 || e.ipv6).length;
    m.eips.set({ state: 'assigned' }, assigned);
  }
}
