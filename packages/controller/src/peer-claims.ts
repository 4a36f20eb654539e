import { type EgressTunnel, PEER_CLAIM_ANNOTATION, parsePeerClaims } from '@egressgateway/crds';
import type { PeerClaimLike, PeerClaimVerdict } from '@egressgateway/failover';
import type { Logger } from '@egressgateway/kube';
import type { ControllerMetrics } from './metrics.js';

/** Why a claim was not followed, in the words of the log line (the verdict is the metric label). */
const WHY: Record<PeerClaimVerdict['verdict'], string> = {
  followed:
    "the status names the claim's from node and the claimant is a selected, healthy node: the EIP moves to it",
  recorded: 'the status already names the claimant (its agent clears the claim)',
  stale: "the status names another node than the claim's from, or changed since the claimant saw it",
  ineligible:
    'the claimant is not a selected, healthy node of the gateway (not Ready, heartbeat timed out, draining or not selected)',
  contested: 'another node claims the same EIP: neither claim is followed, the heartbeats decide',
  unknown: 'no such gateway, or the EIP is not in use by a policy of it',
};

/** The peer claims the agents wrote on their tunnels, as the engine takes them. */
export function peerClaimsOf(
  tunnels: readonly EgressTunnel[],
  onError?: (tunnel: string, value: string, message: string) => void,
): PeerClaimLike[] {
  const out: PeerClaimLike[] = [];
  for (const t of tunnels) {
    const node = t.metadata?.name;
    const value = (t.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[
      PEER_CLAIM_ANNOTATION
    ];
    if (!node || value === undefined) continue;
    const { claims, errors } = parsePeerClaims(value);
    for (const e of errors) onError?.(node, value, e.message);
    for (const c of claims)
      out.push({
        node,
        gateway: c.gateway,
        ipv4: c.ipv4,
        ipv6: c.ipv6,
        from: c.from,
        ...(c.gatewayResourceVersion !== undefined ? { statusVersion: c.gatewayResourceVersion } : {}),
      });
  }
  return out;
}

/**
 * Says what the leader made of each peer claim: one log line (`peer claim followed` /
 * `peer claim ignored`, with the claim and the reason) and one count of
 * `egw_controller_peer_claims_total{result}` per claim and verdict, however many reconciles judge
 * it, so a claim that stays (the agent could not clear it yet) neither floods the log nor inflates
 * the metric. A malformed annotation is logged once per value.
 */
export class PeerClaimReport {
  /** Claim identity → the verdict last reported. */
  private readonly reported = new Map<string, PeerClaimVerdict['verdict']>();
  private readonly badValues = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly metrics?: ControllerMetrics | undefined,
  ) {}

  /** Reports a malformed claim annotation (once per tunnel and value). */
  malformed(tunnel: string, value: string, message: string): void {
    const key = `${tunnel}\u0000${value}\u0000${message}`;
    if (this.badValues.has(key)) return;
    if (this.badValues.size > 1000) this.badValues.clear();
    this.badValues.add(key);
    this.metrics?.peerClaims.inc({ result: 'malformed' });
    this.log.warn(
      {
        tunnel,
        annotation: PEER_CLAIM_ANNOTATION,
        err: message,
        fix: 'the agent of that node writes this annotation; remove it (kubectl annotate egt <node> egressgateway.spidernet.io/peer-claims-) if it was written by hand',
      },
      'peer claim ignored: malformed annotation',
    );
  }

  /**
   * The verdicts of one reconcile (all current claims). `claimant` describes the claimant as the
   * controller sees it (its tunnel phase, draining mark), logged with a claim that is not followed.
   */
  judged(verdicts: readonly PeerClaimVerdict[], claimant?: (node: string) => Record<string, unknown>): void {
    const current = new Set<string>();
    for (const { claim, verdict } of verdicts) {
      const key = JSON.stringify([
        claim.node,
        claim.gateway,
        claim.ipv4,
        claim.ipv6,
        claim.from,
        claim.statusVersion,
      ]);
      current.add(key);
      if (this.reported.get(key) === verdict) continue;
      this.reported.set(key, verdict);
      this.metrics?.peerClaims.inc({ result: verdict });
      const fields = {
        claimant: claim.node,
        gateway: claim.gateway,
        eip: { ipv4: claim.ipv4, ipv6: claim.ipv6 },
        from: claim.from,
        statusVersion: claim.statusVersion,
        result: verdict,
        why: WHY[verdict],
        ...(verdict === 'followed' || verdict === 'recorded' ? {} : { claimantView: claimant?.(claim.node) }),
      };
      if (verdict === 'followed') this.log.warn(fields, 'peer claim followed');
      else if (verdict === 'recorded') this.log.debug(fields, 'peer claim recorded');
      else this.log.info(fields, 'peer claim ignored');
    }
    for (const key of this.reported.keys()) if (!current.has(key)) this.reported.delete(key);
  }
}
