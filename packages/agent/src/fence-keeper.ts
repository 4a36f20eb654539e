import { type Clock, type EventRecorder, type Logger, toKubeApiError } from '@egressgateway/kube';
import type { Binder } from './binder.js';
import { fenceDeadline, renewLeaseMs, renewLifetimeSeconds } from './fencing.js';
import type { AgentMetrics } from './metrics.js';

/** What {@link FenceKeeper} needs. `R` is what a fresh read before lifting the fence returns. */
export interface FenceKeeperOptions<R> {
  clock: Clock;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  events?: EventRecorder | undefined;
  nodeName: string;
  evictionTimeoutMs: number;
  fenceMarginMs: number;
  binder: Pick<Binder, 'renewEips' | 'withdrawEips'>;
  /** Number of EIPs bound on this node now (nothing to renew when 0). */
  heldEips(): number;
  /** EIPs the cluster places on this node (for logs). */
  assignedEips(): string[];
  /** True once the agent is stopping: the fence no longer moves. */
  stopped(): boolean;
  /**
   * Reads what the node may hold now, bypassing the informers (which may still lag behind a
   * partition); the fence is lifted only after it resolves, and its result goes to `adopt`.
   */
  freshRead(): Promise<R>;
  /** Takes the fresh read into account; called just before the fence is lifted. */
  adopt(read: R): void;
  /** The fence went up or down: the datapath must be computed again. */
  changed(): void;
  /**
   * With gateway peers: the latest instant (clock ms) a renewal may lease held EIPs to, i.e. the
   * earliest lease end the peer cores gave (+Infinity while they hold nothing). Absent: the API
   * fence deadline alone.
   */
  leaseCap?(): number;
  /**
   * With gateway peers: true while the peer cores hold EIPs. The fence then does not withdraw every
   * EIP; `changed()` re-applies the datapath without the status's EIPs and the peer-held ones stay.
   */
  keepEips?(): boolean;
}

/**
 * Self-fencing. The node starts fenced (holds no EIP) and is unfenced by an acknowledged heartbeat
 * the controller had not already answered with an eviction. Each such heartbeat, sent at `S`, sets
 * the fence deadline to `S + E - M` (see `fencing.ts`): the fence goes up at that instant unless a
 * later heartbeat was acknowledged, and the leases of held EIPs, in the kernel, run out at that
 * same instant unless renewed. {@link FenceKeeper.bindLeaseMs} gives EIPs bound now the same end,
 * so an agent killed right after a bind leaves no claim past the deadline either.
 */
export class FenceKeeper<R = unknown> {
  /** Fenced: bind no EIPs. True from start until the first heartbeat is acknowledged. */
  private fencedNow = true;
  private lastAckedSentAt: number | undefined;
  private fenceTimer: unknown;

  constructor(private readonly o: FenceKeeperOptions<R>) {}

  /** True while the node may hold no EIP. */
  get fenced(): boolean {
    return this.fencedNow;
  }

  /**
   * Lease (ms from now) for EIPs bound now: what is left until the fence deadline of the last
   * acknowledged heartbeat; 0 when fenced or past it (bind nothing).
   */
  bindLeaseMs(): number {
    if (this.fencedNow || this.lastAckedSentAt === undefined) return 0;
    return renewLeaseMs(this.lastAckedSentAt, this.o.clock.now(), this.fencing());
  }

  /**
   * A heartbeat sent at `sentAt` was acknowledged, the tunnel then in `phase`. It proves the node
   * alive only if the controller had not already evicted it: the controller writes
   * `HeartbeatTimeout` (with a resourceVersion precondition, so no heartbeat can slip in between
   * its decision and that write) before it moves the EIPs. A heartbeat that lands after that write
   * comes back with the phase: the EIPs are being moved, so the node lets go at once and renews
   * nothing, whatever its lease says, until the controller has seen it and set the tunnel Ready.
   */
  acknowledged(sentAt: number, phase: string | undefined): void {
    if (phase === 'HeartbeatTimeout') {
      if (!this.fencedNow) this.fence(this.o.clock.now(), 'evicted');
      return;
    }
    this.lastAckedSentAt = Math.max(this.lastAckedSentAt ?? 0, sentAt);
    this.renewHeld();
    this.arm();
    if (this.fencedNow) this.unfence();
  }

  /** Cancels the fence timer (on stop). */
  disarm(): void {
    this.o.clock.clearTimeout(this.fenceTimer);
  }

  private fencing() {
    return { evictionTimeoutMs: this.o.evictionTimeoutMs, marginMs: this.o.fenceMarginMs };
  }

  /**
   * Extends the lease (and kernel lifetime) of held EIPs up to the fence deadline of the last
   * acknowledged heartbeat (counted from its send time). A killed or frozen agent stops extending
   * them, and the kernel silences the EIPs at that deadline.
   */
  private renewHeld(): void {
    if (this.fencedNow || this.o.heldEips() === 0 || this.lastAckedSentAt === undefined) return;
    const now = this.o.clock.now();
    const cap = this.o.leaseCap?.() ?? Number.POSITIVE_INFINITY;
    const leaseMs = Math.min(renewLeaseMs(this.lastAckedSentAt, now, this.fencing()), cap - now);
    if (leaseMs <= 0) return;
    const lifetime =
      cap === Number.POSITIVE_INFINITY
        ? renewLifetimeSeconds(this.lastAckedSentAt, now, this.fencing())
        : Math.max(1, Math.floor(leaseMs / 1000));
    void this.o.binder
      .renewEips(lifetime, leaseMs)
      .catch((err: unknown) =>
        this.o.log.warn({ err: (err as Error).message }, 'eip lifetime renewal failed'),
      );
  }

  private arm(): void {
    if (this.lastAckedSentAt === undefined) return;
    const at = fenceDeadline(this.lastAckedSentAt, this.fencing());
    const { clock } = this.o;
    clock.clearTimeout(this.fenceTimer);
    this.fenceTimer = clock.setTimeout(() => this.fence(at), Math.max(0, at - clock.now()));
  }

  private fence(deadline: number, why: 'timeout' | 'evicted' = 'timeout'): void {
    if (this.fencedNow || this.o.stopped()) return;
    const { evictionTimeoutMs: e, fenceMarginMs: m, metrics, log } = this.o;
    this.fencedNow = true;
    metrics?.fencings.inc();
    metrics?.fenced.set(1);
    log.warn(
      { lastAckedSentAt: this.lastAckedSentAt, deadline, evictionTimeoutMs: e, marginMs: m },
      why === 'evicted'
        ? 'self-fencing: the controller evicted this node (tunnel HeartbeatTimeout), withdrawing EIPs'
        : 'self-fencing: no heartbeat acknowledged in time, withdrawing EIPs',
    );
    this.o.events?.record({
      type: 'Warning',
      reason: 'SelfFenced',
      message:
        why === 'evicted'
          ? 'the tunnel is in HeartbeatTimeout: EIPs withdrawn while the controller moves them'
          : `no heartbeat acknowledged within ${(e - m) / 1000}s: EIPs withdrawn before the controller can move them`,
      involvedObject: {
        kind: 'EgressTunnel',
        name: this.o.nodeName,
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
      },
    });
    if (this.o.keepEips?.() !== true) {
      void this.o.binder
        .withdrawEips()
        .catch((err: unknown) => log.error({ err: (err as Error).message }, 'withdraw failed'));
    }
    this.o.changed();
  }

  /**
   * Lifts the fence after an acknowledged heartbeat, judging from a fresh read (the informer may
   * still lag behind a partition), so the node re-binds only what the status says now, and only if
   * the fence deadline of that heartbeat has not passed meanwhile.
   */
  private unfence(): void {
    this.o.freshRead().then(
      (read) => {
        const acked = this.lastAckedSentAt;
        const deadline = acked === undefined ? 0 : fenceDeadline(acked, this.fencing());
        if (!this.fencedNow || this.o.clock.now() >= deadline || this.o.stopped()) return;
        this.o.adopt(read);
        this.fencedNow = false;
        this.o.metrics?.fenced.set(0);
        this.o.log.info({ eips: this.o.assignedEips() }, 'heartbeat acknowledged: fence lifted');
        this.o.changed();
      },
      (err: unknown) =>
        this.o.log.warn({ err: toKubeApiError(err).message }, 'fresh gateway read failed, staying fenced'),
    );
  }
}
