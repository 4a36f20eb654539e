import { DRAINING_ANNOTATION, type EgressTunnel } from '@egressgateway/crds';
import {
  type Clock,
  EGRESS_TUNNELS,
  type KubeClient,
  type Logger,
  sleep,
  toKubeApiError,
} from '@egressgateway/kube';

/** What {@link Handover} needs. */
export interface HandoverOptions {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  nodeName: string;
  /** How long to wait for the EIPs to be placed elsewhere. */
  timeoutMs: number;
  /** How long to keep SNAT and steering once they are (see `AgentSettings.handoverLingerMs`). */
  lingerMs: number;
  /** This node's tunnel as cached. */
  ownTunnel(): EgressTunnel | undefined;
  /** EIPs the cluster places on this node. */
  assignedEips(): string[];
  /** True when every address in `eips` is placed on some other node. */
  placedElsewhere(eips: readonly string[]): boolean;
  /** Releases the EIP bindings (break before make) and resolves once the datapath is applied. */
  release(): Promise<void>;
  /**
   * A planned stop starts (not a lost egress link, which may come back): called before `release`,
   * and only when the status places EIPs here (the controller then moves them). With gateway peers,
   * their cores stop claiming here. A node the status places nothing on keeps what the peers alone
   * gave it until it exits: no status move would name a successor sooner.
   */
  stopping?(): void;
}

/**
 * Planned handover: on a planned stop, the node releases its EIP bindings, marks its tunnel as
 * draining (the controller moves its EIPs at once) and keeps heartbeating until the gateway status
 * places them elsewhere or the timeout passes; then it lingers (SNAT and steering kept: the workers
 * and the new holder switch on the same status write, and what they still send here leaves with
 * the EIP) before the agent withdraws everything. A new start clears the mark.
 */
export class Handover {
  private drainingNow = false;
  private linkDown = false;
  /** The last draining-mark write (they are chained, see {@link Handover.mark}). */
  private marks: Promise<boolean> = Promise.resolve(true);

  constructor(private readonly o: HandoverOptions) {}

  /** True once a handover started: bind nothing, keep SNAT and steering. */
  get draining(): boolean {
    return this.drainingNow;
  }

  /** Removes the draining mark a previous run of this agent left on its tunnel. */
  async clearMark(): Promise<void> {
    const annotations = (this.o.ownTunnel()?.metadata as { annotations?: Record<string, string> } | undefined)
      ?.annotations;
    if (!annotations?.[DRAINING_ANNOTATION]) return;
    await this.o.client
      .patchMerge(EGRESS_TUNNELS, this.o.nodeName, undefined, {
        metadata: { annotations: { [DRAINING_ANNOTATION]: null } },
      })
      .catch((err: unknown) =>
        this.o.log.warn({ err: toKubeApiError(err).message }, 'could not clear the draining mark'),
      );
  }

  /**
   * The egress interface became unusable (down, no carrier, gone) while the API server may still
   * be reachable: heartbeats would go on and nothing would move. Marks the tunnel draining (the
   * controller moves its EIPs at once, as for a planned stop) and releases the bindings; stays so
   * until {@link Handover.linkRestored}. Moved EIPs do not come back (no move-back).
   */
  async linkLost(): Promise<void> {
    if (this.linkDown) return;
    this.linkDown = true;
    this.drainingNow = true;
    await this.o.release();
    await this.mark(new Date(this.o.clock.now()).toISOString());
  }

  /**
   * The egress interface is usable again: clears the draining mark, the node may take EIPs again.
   * The mark is cleared until that succeeds (or the link is lost again): a node whose link and API
   * path come back together often finds the API server unreachable for a moment, and a mark left
   * behind would keep the controller from ever placing an EIP on it again.
   */
  async linkRestored(): Promise<void> {
    if (!this.linkDown) return;
    this.linkDown = false;
    this.drainingNow = false;
    for (let delay = 250; !this.linkDown && !(await this.mark(null)); delay = Math.min(5_000, delay * 2))
      await sleep(this.o.clock, delay);
    // Lost again while the clear was on its way: the mark must stand.
    if (this.linkDown) await this.mark(new Date(this.o.clock.now()).toISOString());
    await this.o.release();
  }

  /**
   * Sets (or with `null` removes) the draining mark; false when the write failed (logged). Writes
   * go one at a time, in the order asked: a mark sent while the API path was down can hang until
   * the path is back, and must not land after the clear that followed it (the node would stay
   * draining for good).
   */
  private mark(value: string | null): Promise<boolean> {
    const write = this.marks.then(() => this.writeMark(value));
    this.marks = write;
    return write;
  }

  private async writeMark(value: string | null): Promise<boolean> {
    return this.o.client
      .patchMerge(EGRESS_TUNNELS, this.o.nodeName, undefined, {
        metadata: { annotations: { [DRAINING_ANNOTATION]: value } },
      })
      .then(
        () => true,
        (err: unknown) => {
          this.o.log.warn(
            { err: toKubeApiError(err).message },
            value === null ? 'could not clear the draining mark' : 'could not mark the tunnel draining',
          );
          return false;
        },
      );
  }

  /** Hands the node's EIPs over (when it has any); resolves when they moved, or at the timeout. */
  async run(): Promise<void> {
    const { clock, log, client } = this.o;
    if (this.o.assignedEips().length === 0) return;
    const started = clock.now();
    log.info({ eips: this.o.assignedEips(), boundMs: this.o.timeoutMs }, 'planned handover: draining');
    this.drainingNow = true;
    this.o.stopping?.();
    await this.o.release();
    try {
      await client.patchMerge(EGRESS_TUNNELS, this.o.nodeName, undefined, {
        metadata: { annotations: { [DRAINING_ANNOTATION]: new Date(clock.now()).toISOString() } },
      });
      const mine = this.o.assignedEips();
      while (!this.o.placedElsewhere(mine) && clock.now() - started < this.o.timeoutMs)
        await sleep(clock, 20);
      const done = this.o.placedElsewhere(mine);
      log.info(
        { ms: clock.now() - started, eips: mine, placedElsewhere: done },
        'planned handover: done waiting',
      );
      if (done) await sleep(clock, this.o.lingerMs);
    } catch (err) {
      log.warn({ err: toKubeApiError(err).message }, 'planned handover: could not mark draining');
    }
  }
}
