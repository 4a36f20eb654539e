import type { EventRecorder, Logger } from '@egressgateway/kube';
import type { Handover } from './handover.js';
import type { AgentMetrics } from './metrics.js';

/** An interface's usability as a link watcher reports it (`@egressgateway/datapath`'s `watchLink`). */
export interface EgressLinkState {
  readonly usable: boolean;
  readonly reason?: string | undefined;
}

/** Starts watching an interface; `onChange` runs when it becomes usable or unusable. */
export type EgressLinkWatcher = (
  ifname: string,
  onChange: (state: EgressLinkState) => void,
) => Promise<{ readonly state: EgressLinkState; close(): void }>;

/** What {@link EgressLinkGuard} needs. */
export interface EgressLinkGuardOptions {
  watch: EgressLinkWatcher;
  egressInterface: string;
  nodeName: string;
  handover: Pick<Handover, 'linkLost' | 'linkRestored'>;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  events?: EventRecorder | undefined;
}

/**
 * Hands the node's EIPs over when its egress interface dies. The heartbeat path to the API server
 * may be another interface: without this, an agent with a dead LAN link keeps heartbeating, its
 * tunnel stays Ready and the EIP stays where nobody can reach it. Link state comes from the kernel
 * (rtnetlink notifications), so the handover starts within milliseconds of the link going down.
 */
export class EgressLinkGuard {
  private watch: { close(): void } | undefined;

  constructor(private readonly o: EgressLinkGuardOptions) {}

  /** Starts watching; acts on the initial state too (an agent may start with its link down). */
  async start(): Promise<void> {
    const w = await this.o.watch(this.o.egressInterface, (s) => void this.changed(s));
    this.watch = w;
    if (!w.state.usable) await this.changed(w.state);
    else this.o.metrics?.egressLinkUsable.set(1);
  }

  stop(): void {
    this.watch?.close();
    this.watch = undefined;
  }

  private async changed(s: EgressLinkState): Promise<void> {
    const { log, metrics, egressInterface: ifname } = this.o;
    metrics?.egressLinkUsable.set(s.usable ? 1 : 0);
    if (s.usable) {
      log.info({ interface: ifname }, 'egress link usable again: this node may hold EIPs');
      await this.o.handover.linkRestored();
      return;
    }
    log.warn({ interface: ifname, reason: s.reason }, 'egress link unusable: handing the EIPs over');
    this.o.events?.record({
      type: 'Warning',
      reason: 'EgressLinkDown',
      message: `egress interface ${ifname} is unusable (${s.reason ?? 'down'}): EIPs handed over to other gateway nodes`,
      involvedObject: {
        kind: 'EgressTunnel',
        name: this.o.nodeName,
        apiVersion: 'egressgateway.spidernet.io/v1beta1',
      },
    });
    await this.o.handover.linkLost();
  }
}
