import type { EgressTunnel } from '@egressgateway/crds';
import {
  type Clock,
  EGRESS_TUNNELS,
  type HeartbeatLease,
  heartbeatLeaseEvicted,
  heartbeatLeaseRead,
  type KubeClient,
  type Logger,
  renewHeartbeatLease,
  sleep,
  toKubeApiError,
} from '@egressgateway/kube';
import type { AgentMetrics } from './metrics.js';

/** Default period of the `status.lastHeartbeatTime` copy on the EgressTunnel (upstream's field). */
export const DEFAULT_HEARTBEAT_STATUS_PERIOD_MS = 30_000;

/** What {@link Heartbeater} needs. */
export interface HeartbeaterOptions {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  nodeName: string;
  /** Namespace of this node's heartbeat Lease (the controller watches the same one). */
  namespace: string;
  /** The eviction timeout (ms): the Lease's `leaseDurationSeconds`, rounded up. */
  evictionTimeoutMs: number;
  /** The underlay interface and its addresses, written to the tunnel's `status.tunnel.parent`. */
  parent: { name: string; ipv4?: string | undefined; ipv6?: string | undefined };
  updatePeriodMs: number;
  /**
   * How often the acknowledged heartbeat is copied to the tunnel's `status.lastHeartbeatTime`
   * (default {@link DEFAULT_HEARTBEAT_STATUS_PERIOD_MS}); also on the first beat and whenever the
   * tunnel's phase changed since the last copy.
   */
  statusPeriodMs?: number | undefined;
  /** This node's tunnel as cached (none until the controller created it). */
  ownTunnel(): EgressTunnel | undefined;
  /** True while some gateway lists this node: only then does it heartbeat. */
  selected(): boolean;
  /**
   * A heartbeat sent at `sentAt` was acknowledged; `phase` is `HeartbeatTimeout` when the node was
   * evicted (see {@link Heartbeater}), else the cached tunnel's phase.
   */
  acknowledged(sentAt: number, phase: string | undefined): void;
}

/**
 * Heartbeats every `updatePeriodMs` while some gateway selects the node, by renewing the node's
 * heartbeat Lease (`coordination.k8s.io/v1`, `egressgateway-heartbeat-<node>`, `renewTime` = the
 * send time) which only the controller watches: the EgressTunnel that every agent watches no
 * longer changes on each beat. The tunnel's status is written only when the parent interface
 * changed, and `status.lastHeartbeatTime` (upstream's field, which users watch) is copied from an
 * acknowledged renewal every `statusPeriodMs`, on the first beat and on a phase change. One write
 * at a time: a slow write delays the next beat instead of piling up.
 *
 * Whether the node was evicted comes from the renewal's response, not from the cached tunnel: the
 * controller marks the Lease (`egressgateway.spidernet.io/evicted`, with the resourceVersion it
 * judged as precondition) before it writes `HeartbeatTimeout` and moves the EIPs, so a renewal
 * either landed before that mark (the controller's write fails, the eviction is cancelled) or
 * comes back carrying it (the node lets go at once). The cached tunnel's phase alone would not do:
 * the tunnels watch can lag behind a renewal that got through (a slow or stalled watch), and for
 * that lag the node would keep EIPs the controller is already moving. The cached phase is still
 * passed on when the Lease carries no mark (a `HeartbeatTimeout` there keeps the node fenced one
 * beat longer, which is only conservative).
 */
export class Heartbeater {
  /** Heartbeat writes acknowledged (the last 1 000), for tests and metrics. */
  readonly acks: Array<{ sentAt: number; ackAt: number }> = [];

  private waking: AbortController | undefined;
  private wakeRequested = false;
  private lease: HeartbeatLease | undefined;
  /** True while no controller has marked the Lease read: heartbeats go to the tunnel too. */
  private compat = false;
  /** When `lastHeartbeatTime` was last copied to the tunnel, and the phase it had then. */
  private copied: { at: number; phase: string | undefined } | undefined;

  constructor(private readonly o: HeartbeaterOptions) {}

  /** Heartbeats until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, updatePeriodMs } = this.o;
    while (!signal.aborted) {
      const started = clock.now();
      this.wakeRequested = false;
      const tunnel = this.o.ownTunnel();
      if (tunnel) await this.beat(tunnel, started);
      const wait = Math.max(0, started + updatePeriodMs - clock.now());
      if (this.wakeRequested) continue;
      this.waking = new AbortController();
      try {
        await sleep(clock, wait, AbortSignal.any([signal, this.waking.signal]));
      } catch {
        if (signal.aborted) return;
      } finally {
        this.waking = undefined;
      }
    }
  }

  /**
   * Writes the next heartbeat now instead of at the end of the period (a gateway peer reaches the
   * API server and this node does not); during a write, the next one follows it at once.
   */
  wake(): void {
    this.wakeRequested = true;
    this.waking?.abort();
  }

  /** One beat: the Lease renewal while selected, and the tunnel status when something is due. */
  private async beat(tunnel: EgressTunnel, sentAt: number): Promise<void> {
    const beat = this.o.selected();
    // Not a gateway node: nothing to prove and no EIPs to hold (it stays fenced, harmlessly).
    const acked = beat ? await this.renew(sentAt) : false;
    if (!acked) {
      await this.writeStatus(tunnel, undefined, false);
      return;
    }
    if (heartbeatLeaseEvicted(this.lease)) {
      this.o.acknowledged(sentAt, 'HeartbeatTimeout');
      await this.writeStatus(tunnel, sentAt, false);
      return;
    }
    if (heartbeatLeaseRead(this.lease)) {
      if (this.compat)
        this.o.log.info({}, 'the controller reads the heartbeat lease: lastHeartbeatTime copied every 30 s');
      this.compat = false;
      this.o.acknowledged(sentAt, this.o.ownTunnel()?.status?.phase);
      await this.writeStatus(tunnel, sentAt, false);
      return;
    }
    // No controller has said it reads the Lease (an older one may be leading, e.g. during an
    // upgrade): the tunnel gets every heartbeat as before, and only its write acknowledges the
    // beat, with the phase in its response (that controller's eviction guard).
    if (!this.compat)
      this.o.log.info({}, 'no controller reads the heartbeat lease yet: heartbeating through the tunnel too');
    this.compat = true;
    const written = await this.writeStatus(tunnel, sentAt, true);
    if (written !== undefined) this.o.acknowledged(sentAt, written.status?.phase);
  }

  /** Renews the Lease; true when acknowledged (the caller tells the fence). */
  private async renew(sentAt: number): Promise<boolean> {
    const { clock, metrics, nodeName } = this.o;
    try {
      this.lease = await renewHeartbeatLease(this.o.client, {
        node: nodeName,
        namespace: this.o.namespace,
        sentAt,
        evictionTimeoutMs: this.o.evictionTimeoutMs,
        previous: this.lease,
      });
    } catch (err) {
      const e = toKubeApiError(err);
      metrics?.heartbeatFailures.inc();
      this.o.log.warn({ err: e.message, status: e.status, sentAt }, 'heartbeat failed');
      // The next renewal starts from the last Lease known: if this one landed after all, its
      // precondition fails and the Lease is read again (renewHeartbeatLease).
      return false;
    }
    const ackAt = clock.now();
    this.acks.push({ sentAt, ackAt });
    if (this.acks.length > 1000) this.acks.shift();
    metrics?.heartbeatLatency.observe((ackAt - sentAt) / 1000);
    return true;
  }

  /**
   * The tunnel status: the parent interface when it changed, and a copy of the acknowledged
   * heartbeat `ackedSentAt` when one is due. Nothing is written when neither is.
   */
  private async writeStatus(
    tunnel: EgressTunnel,
    ackedSentAt: number | undefined,
    everyBeat: boolean,
  ): Promise<EgressTunnel | undefined> {
    const { parent: p, clock } = this.o;
    const parent = {
      name: p.name,
      ...(p.ipv4 ? { ipv4: p.ipv4 } : {}),
      ...(p.ipv6 ? { ipv6: p.ipv6 } : {}),
    };
    const parentChanged = JSON.stringify(tunnel.status?.tunnel?.parent ?? {}) !== JSON.stringify(parent);
    const phase = tunnel.status?.phase;
    const period = this.o.statusPeriodMs ?? DEFAULT_HEARTBEAT_STATUS_PERIOD_MS;
    const copyDue =
      ackedSentAt !== undefined &&
      (everyBeat ||
        this.copied === undefined ||
        this.copied.phase !== phase ||
        clock.now() - this.copied.at >= period);
    if (!parentChanged && !copyDue) return undefined;
    const status: Record<string, unknown> = {};
    if (parentChanged) status.tunnel = { parent };
    if (copyDue) status.lastHeartbeatTime = new Date(ackedSentAt).toISOString();
    try {
      const written = await this.o.client.patchStatus<EgressTunnel>(
        EGRESS_TUNNELS,
        this.o.nodeName,
        undefined,
        {
          status,
        },
      );
      if (copyDue) this.copied = { at: clock.now(), phase };
      return written;
    } catch (err) {
      const e = toKubeApiError(err);
      if (everyBeat) this.o.metrics?.heartbeatFailures.inc();
      this.o.log.warn({ err: e.message, status: e.status }, 'tunnel status write failed');
      return undefined;
    }
  }
}
