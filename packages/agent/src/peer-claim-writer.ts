import { formatPeerClaims, PEER_CLAIM_ANNOTATION, type PeerClaim } from '@egressgateway/crds';
import { type Clock, EGRESS_TUNNELS, type KubeClient, type Logger } from '@egressgateway/kube';
import { LatestWriter } from './latest-writer.js';
import type { PeerTakeoverClaim } from './peer-driver.js';

/** What {@link PeerClaimWriter} needs. */
export interface PeerClaimWriterOptions {
  client: Pick<KubeClient, 'patchMerge'>;
  clock: Clock;
  log: Logger;
  /** This node: the claims go on its own EgressTunnel. */
  nodeName: string;
  /** The annotation's value on the cached own tunnel (read once, to clear what a previous run left). */
  current(): string | undefined;
  /** Wall-clock ms for the claims' `at` (default `Date.now`). */
  wallNow?: () => number;
  /** First retry delay after a failed write (default 250 ms; doubles up to 5 s). */
  retryMs?: number;
}

/**
 * Keeps this node's peer claims (`PEER_CLAIM_ANNOTATION` on its own EgressTunnel) equal to what the
 * gateway peers made it take over: one merge patch when the set changes (a take-over, a withdraw, the
 * status naming this node, the gateway rewritten before the claim was recorded), none per advert or
 * lease renewal. One write at a time; the newest set wins. A failed write (API server unreachable)
 * is retried with a backoff, never given up: the peers keep answering meanwhile, and the claim only
 * lets the controller record what already happened on the wire.
 */
export class PeerClaimWriter {
  private readonly writer: LatestWriter<string | null>;
  /** When each claim (gateway, EIP, from) was first made, so that `at` does not change per write. */
  private readonly since = new Map<string, string>();

  constructor(private readonly o: PeerClaimWriterOptions) {
    const { client, log, nodeName } = o;
    this.writer = new LatestWriter<string | null>({
      clock: o.clock,
      log,
      what: 'peer claim',
      ...(o.retryMs === undefined ? {} : { retryMs: o.retryMs }),
      current: () => o.current() ?? null,
      write: (value) =>
        client.patchMerge(EGRESS_TUNNELS, nodeName, undefined, {
          metadata: { annotations: { [PEER_CLAIM_ANNOTATION]: value } },
        }),
      written: (value) => {
        if (value === null) log.info({}, 'peer claims cleared');
        else log.info({ claims: JSON.parse(value) }, 'peer claim written');
      },
    });
  }

  /** The claims to hold now (the whole set). */
  set(claims: readonly PeerTakeoverClaim[]): void {
    const now = new Date((this.o.wallNow ?? Date.now)()).toISOString();
    const keep = new Map<string, string>();
    const full: PeerClaim[] = claims.map((c) => {
      const key = JSON.stringify([c.gateway, c.ipv4, c.ipv6, c.from]);
      const at = this.since.get(key) ?? now;
      keep.set(key, at);
      return { ...c, at };
    });
    this.since.clear();
    for (const [k, v] of keep) this.since.set(k, v);
    this.writer.set(formatPeerClaims(full));
  }

  /** The annotation value last written (or read), for tests and diagnostics. */
  get value(): string | null | undefined {
    return this.writer.value;
  }

  /** Stops writing (pending retries are dropped). */
  stop(): void {
    this.writer.stop();
  }
}
