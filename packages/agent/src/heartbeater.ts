import type { EgressTunnel } from '@egressgateway/crds';
import {
  type Clock,
  EGRESS_TUNNELS,
  type KubeClient,
  type Logger,
  sleep,
  toKubeApiError,
} from '@egressgateway/kube';
import type { AgentMetrics } from './metrics.js';

/** What {@link Heartbeater} needs. */
export interface HeartbeaterOptions {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  metrics?: AgentMetrics | undefined;
  nodeName: string;
  /** The underlay interface and its addresses, written to the tunnel's `status.tunnel.parent`. */
  parent: { name: string; ipv4?: string | undefined; ipv6?: string | undefined };
  updatePeriodMs: number;
  /** This node's tunnel as cached (none until the controller created it). */
  ownTunnel(): EgressTunnel | undefined;
  /** True while some gateway lists this node: only then does it heartbeat. */
  selected(): boolean;
  /** A heartbeat sent at `sentAt` was acknowledged; `phase` is the tunnel's phase in the response. */
  acknowledged(sentAt: number, phase: string | undefined): void;
}

/**
 * Writes this node's EgressTunnel status every `updatePeriodMs`: the parent interface when it
 * changed, and `lastHeartbeatTime` (the send time, in ms) while some gateway selects the node. One
 * write at a time: a slow write delays the next beat instead of piling up.
 */
export class Heartbeater {
  /** Heartbeat writes acknowledged (the last 1 000), for tests and metrics. */
  readonly acks: Array<{ sentAt: number; ackAt: number }> = [];

  private waking: AbortController | undefined;
  private wakeRequested = false;

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

  /** One status write: parent data when it changed, and the heartbeat while selected. */
  private async beat(tunnel: EgressTunnel, sentAt: number): Promise<void> {
    const { parent: p, metrics, clock } = this.o;
    const parent = {
      name: p.name,
      ...(p.ipv4 ? { ipv4: p.ipv4 } : {}),
      ...(p.ipv6 ? { ipv6: p.ipv6 } : {}),
    };
    const parentChanged = JSON.stringify(tunnel.status?.tunnel?.parent ?? {}) !== JSON.stringify(parent);
    const beat = this.o.selected();
    // Not a gateway node: nothing to prove and no EIPs to hold (it stays fenced, harmlessly).
    if (!beat && !parentChanged) return;
    const status: Record<string, unknown> = {};
    if (parentChanged) status.tunnel = { parent };
    if (beat) status.lastHeartbeatTime = new Date(sentAt).toISOString();
    try {
      const written = await this.o.client.patchStatus<EgressTunnel>(
        EGRESS_TUNNELS,
        this.o.nodeName,
        undefined,
        {
          status,
        },
      );
      const ackAt = clock.now();
      if (!beat) return;
      this.acks.push({ sentAt, ackAt });
      if (this.acks.length > 1000) this.acks.shift();
      metrics?.heartbeatLatency.observe((ackAt - sentAt) / 1000);
      this.o.acknowledged(sentAt, written?.status?.phase);
    } catch (err) {
      const e = toKubeApiError(err);
      metrics?.heartbeatFailures.inc();
      this.o.log.warn({ err: e.message, status: e.status, sentAt }, 'heartbeat failed');
    }
  }
}
