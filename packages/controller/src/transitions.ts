import type { EgressGateway, EgressTunnel } from '@egressgateway/crds';
import type { EgressChanges, EgressEvent } from '@egressgateway/failover';
import type { EventRecorder, Logger } from '@egressgateway/kube';
import type { ControllerMetrics } from './metrics.js';

/** What {@link TransitionLogger} needs. */
export interface TransitionLoggerOptions {
  log: Logger;
  metrics?: ControllerMetrics | undefined;
  events?: EventRecorder | undefined;
  evictionTimeoutMs: number;
  /** One cached tunnel. */
  tunnel(name: string): EgressTunnel | undefined;
  /** The cached tunnels. */
  tunnels(): EgressTunnel[];
  /** The cached gateways. */
  gateways(): EgressGateway[];
}

/**
 * Tells the world what the leader decided: logs each tunnel transition (an eviction with its
 * detection delay), turns the engine's events and problems into logs, metrics and Kubernetes
 * Events (a problem once when it appears, a log line when it clears), and keeps the gauges.
 */
export class TransitionLogger {
  private readonly activeProblems = new Set<string>();

  constructor(private readonly o: TransitionLoggerOptions) {}

  /**
   * Logs the tunnel phase changes of a decision (before they are written): the one log line of
   * each transition; {@link announce} only records their Kubernetes Events.
   */
  tunnelPhases(tunnels: EgressChanges['tunnels']): void {
    const { log, metrics: m, evictionTimeoutMs: evict } = this.o;
    for (const t of tunnels) {
      if (t.phase === 'HeartbeatTimeout') {
        const tunnel = this.o.tunnel(t.name);
        const delay = t.overdueMs ?? null;
        log.warn(
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
        log.info({ tunnel: t.name, phase: t.phase, reason: t.reason }, `update tunnel status to ${t.phase}`);
      }
    }
  }

  /** Emits the events of a decision that was written in full, and its problems (level-triggered). */
  announce(changes: Pick<EgressChanges, 'events' | 'problems'>): void {
    // A tunnel's phase change was logged by tunnelPhases when it was decided; its Event only.
    for (const e of changes.events) this.emit(e, e.involvedObject.kind !== 'EgressTunnel');
    const current = new Set<string>();
    for (const p of changes.problems) {
      const key = JSON.stringify([p.reason, p.involvedObject, p.message]);
      current.add(key);
      if (!this.activeProblems.has(key)) this.emit(p);
    }
    for (const key of this.activeProblems)
      if (!current.has(key)) this.o.log.info({ problem: key }, 'problem resolved');
    this.activeProblems.clear();
    for (const k of current) this.activeProblems.add(k);
  }

  /**
   * Sets the tunnel-phase and EIP gauges from the caches and, given a decision's problems (the
   * engine lists all current ones on every call), the per-gateway count of rr policies sharing an
   * EIP (`PoolShared`), 0 for every other cached gateway.
   */
  updateGauges(problems?: readonly EgressEvent[]): void {
    const m = this.o.metrics;
    if (!m) return;
    if (problems !== undefined) {
      const sharing = new Map<string, number>();
      for (const g of this.o.gateways()) sharing.set(g.metadata?.name ?? '', 0);
      for (const p of problems)
        if (p.reason === 'PoolShared' && p.gateway !== undefined)
          sharing.set(p.gateway, (sharing.get(p.gateway) ?? 0) + 1);
      m.rrSharing.reset();
      for (const [gateway, n] of sharing) if (gateway !== '') m.rrSharing.set({ gateway }, n);
    }
    const phases = new Map<string, number>();
    for (const t of this.o.tunnels())
      phases.set(t.status?.phase ?? 'Pending', (phases.get(t.status?.phase ?? 'Pending') ?? 0) + 1);
    m.tunnelPhases.reset();
    for (const [phase, n] of phases) m.tunnelPhases.set({ phase }, n);
    let assigned = 0;
    for (const g of this.o.gateways())
      for (const n of g.status?.nodeList ?? [])
        assigned += (n.eips ?? []).filter((e) => e.ipv4 || e.ipv6).length;
    m.eips.set({ state: 'assigned' }, assigned);
  }

  private emit(e: EgressEvent, log = true): void {
    if (e.reason === 'EIPMoved') this.o.metrics?.failovers.inc({ reason: 'moved' });
    if (log) {
      const fields = {
        reason: e.reason,
        object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
        from: e.from,
        to: e.to,
        eip: e.eip,
      };
      if (e.type === 'Warning') this.o.log.warn(fields, e.message);
      else this.o.log.info(fields, e.message);
    }
    this.o.events?.record({
      type: e.type,
      reason: e.reason,
      message: e.message,
      involvedObject: {
        ...e.involvedObject,
        apiVersion: e.involvedObject.kind === 'Node' ? 'v1' : 'egressgateway.spidernet.io/v1beta1',
      },
    });
  }
}
