import { PEERS_CONDITION } from '@egressgateway/crds';
import { type Clock, EGRESS_TUNNELS, type KubeClient, type Logger } from '@egressgateway/kube';
import { LatestWriter } from './latest-writer.js';
import { fallbackDetail, type PeerFallbackReason } from './peer-driver.js';

/** The `GatewayPeers` condition of this node's EgressTunnel, as the agent writes it. */
export interface PeersCondition {
  type: typeof PEERS_CONDITION;
  status: 'True' | 'False';
  reason: 'PeersHeard' | 'Fallback';
  message: string;
  lastTransitionTime: string;
}

/**
 * The condition for the peer modes of this node's gateways (pure): `True` when the peers decide for
 * every gateway, `False` naming each gateway on API fencing and why; `undefined` (no condition) when
 * the node is in no gateway with another member (a gateway with this node alone needs no peers).
 */
export function peersCondition(
  modes: Readonly<Record<string, 'peers' | PeerFallbackReason>>,
  fallbackAfterMs: number,
): Omit<PeersCondition, 'lastTransitionTime'> | undefined {
  const gateways = Object.keys(modes)
    .filter((g) => modes[g] !== 'single-member')
    .sort();
  if (gateways.length === 0) return undefined;
  const fallback = gateways.filter((g) => modes[g] !== 'peers');
  if (fallback.length === 0)
    return {
      type: PEERS_CONDITION,
      status: 'True',
      reason: 'PeersHeard',
      message: `the gateway peers decide for ${gateways.join(', ')}`,
    };
  return {
    type: PEERS_CONDITION,
    status: 'False',
    reason: 'Fallback',
    message: `API fencing decides, as without peers, for ${fallback
      .map((g) => `${g} (${fallbackDetail(modes[g] as PeerFallbackReason, fallbackAfterMs)})`)
      .join('; ')}`,
  };
}

/** What {@link PeersConditionWriter} needs. */
export interface PeersConditionWriterOptions {
  client: Pick<KubeClient, 'patchStatus'>;
  clock: Clock;
  log: Logger;
  nodeName: string;
  /** The conditions of the cached own tunnel (read once, to replace what a previous run left). */
  current(): readonly { type: string }[] | undefined;
  /** Wall-clock ms for `lastTransitionTime` (default `Date.now`). */
  wallNow?: () => number;
  retryMs?: number;
}

/**
 * Keeps the `GatewayPeers` condition of this node's EgressTunnel (`status.conditions`, by merge
 * patch of the status; the agent is the only writer of conditions) equal to the gateways' peer
 * modes: one write per change of status, reason or message, retried until it lands.
 * `lastTransitionTime` moves only when the status changes.
 */
export class PeersConditionWriter {
  private readonly writer: LatestWriter<PeersCondition | undefined>;
  private readonly wallNow: () => number;

  constructor(o: PeersConditionWriterOptions) {
    this.writer = new LatestWriter<PeersCondition | undefined>({
      clock: o.clock,
      log: o.log,
      what: 'peer condition',
      ...(o.retryMs === undefined ? {} : { retryMs: o.retryMs }),
      current: () => o.current()?.find((c) => c.type === PEERS_CONDITION) as PeersCondition | undefined,
      same: (a, b) => a?.status === b?.status && a?.reason === b?.reason && a?.message === b?.message,
      write: (c) =>
        o.client.patchStatus(EGRESS_TUNNELS, o.nodeName, undefined, {
          status: { conditions: c === undefined ? null : [c] },
        }),
      written: (c) =>
        o.log.info(
          c === undefined ? {} : { status: c.status, reason: c.reason, message: c.message },
          c === undefined ? 'tunnel peer condition removed' : 'tunnel peer condition written',
        ),
    });
    this.wallNow = o.wallNow ?? Date.now;
  }

  /** The condition to hold now (`undefined`: none). */
  set(next: Omit<PeersCondition, 'lastTransitionTime'> | undefined): void {
    const held = this.writer.value;
    const lastTransitionTime =
      held !== undefined && next !== undefined && held.status === next.status
        ? held.lastTransitionTime
        : new Date(this.wallNow()).toISOString();
    this.writer.set(next === undefined ? undefined : { ...next, lastTransitionTime });
  }

  /** The condition last written (or read). */
  get value(): PeersCondition | undefined {
    return this.writer.value;
  }

  /** Stops writing. */
  stop(): void {
    this.writer.stop();
  }
}
