import type { EipConflict } from '@egressgateway/datapath';
import type { Clock, EventRecorder, Logger, TimerHandle } from '@egressgateway/kube';
import type { AgentMetrics } from './metrics.js';

/** What {@link ConflictWatch} needs. */
export interface ConflictWatchOptions {
  /** Probes every EIP held now (`DatapathBinder.probeConflicts`, about 1 s). */
  probe(): Promise<readonly EipConflict[]>;
  clock: Clock;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  events?: Pick<EventRecorder, 'record'> | undefined;
  nodeName: string;
  /** Milliseconds between probe rounds; 0 probes only at bind time. */
  intervalMs: number;
}

/**
 * Reports another host answering for an EIP this node holds (a static address somebody configured,
 * a second egress product, a gateway node of another cluster): the binder probes at bind time and
 * reports through {@link report}; this also probes every held EIP every `intervalMs`, because a
 * conflict that starts later (or a probe that went unanswered at bind time) would otherwise never be
 * seen. Egress through such an EIP breaks for some routers and not others, which is hard to trace
 * from the outside, so each conflict is logged, counted and recorded as a `Warning` Event on the
 * node's EgressTunnel once when found and once when it clears. Nothing else changes: the agent keeps
 * the EIP where the controller put it (the other host is the one out of place).
 */
export class ConflictWatch {
  /** Address → the other owner's MAC (as far as the probe tool printed it). */
  private readonly known = new Map<string, string | undefined>();
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly o: ConflictWatchOptions) {}

  /** EIPs another host answers for, as last found. */
  get current(): ReadonlyMap<string, string | undefined> {
    return this.known;
  }

  /** A probe found `c` (from the binder's bind-time probe or a round of this watch). */
  report(c: EipConflict): void {
    const { log, metrics, events } = this.o;
    // The binder reports every probe's finding (bind time and each round), so a conflict already
    // known with the same other owner is not news.
    if (this.known.has(c.address) && this.known.get(c.address) === c.otherMac) return;
    metrics?.eipConflictsFound.inc();
    this.known.set(c.address, c.otherMac);
    metrics?.eipConflicts.set(this.known.size);
    const other = c.otherMac ?? 'unknown MAC';
    log.warn(
      { address: c.address, interface: c.interface, otherMac: c.otherMac },
      'eip conflict: another host answers for an eip this node holds',
    );
    events?.record({
      type: 'Warning',
      reason: 'EIPConflict',
      message: `another host (${other}) answers for EIP ${c.address} on ${c.interface}, which this node holds: remove the address from that host, or the EIP from the gateway's ippools`,
      involvedObject: this.involved(),
    });
  }

  /** Probes every held EIP once; conflicts not found again are cleared. */
  async round(): Promise<void> {
    const found = await this.o.probe();
    for (const c of found) this.report(c);
    const still = new Set(found.map((c) => c.address));
    for (const address of [...this.known.keys()]) {
      if (still.has(address)) continue;
      this.known.delete(address);
      this.o.metrics?.eipConflicts.set(this.known.size);
      this.o.log.info({ address }, 'eip conflict cleared: no other host answers for the eip any more');
      this.o.events?.record({
        type: 'Normal',
        reason: 'EIPConflictCleared',
        message: `no other host answers for EIP ${address} any more (or this node no longer holds it)`,
        involvedObject: this.involved(),
      });
    }
  }

  /** Probes every `intervalMs` until {@link stop} (nothing with 0). */
  start(): void {
    if (this.o.intervalMs <= 0) return;
    const next = () => {
      if (this.stopped) return;
      this.timer = this.o.clock.setTimeout(() => {
        this.round()
          .catch((err: unknown) =>
            this.o.log.warn({ err: (err as Error).message }, 'eip conflict probe failed'),
          )
          .finally(next);
      }, this.o.intervalMs);
    };
    next();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer);
  }

  private involved() {
    return {
      kind: 'EgressTunnel',
      name: this.o.nodeName,
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
    };
  }
}
