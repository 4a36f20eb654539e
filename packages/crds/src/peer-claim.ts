/**
 * Annotation an agent puts on its own EgressTunnel when the gateway peers made its node take over
 * an EIP that the gateway status places on another node (our extension to upstream's API; an
 * upstream controller ignores it). The leading controller records the take-over in the gateway
 * status at once instead of waiting for the old holder's heartbeat timeout, if the claimant is an
 * eligible member and the claim names the node the status places the EIP on now. The value is a
 * JSON list of {@link PeerClaim}; the agent removes an entry once the status names its node or the
 * node stopped answering for the EIP.
 */
export const PEER_CLAIM_ANNOTATION = 'egressgateway.spidernet.io/peer-claims';

/** One EIP the gateway peers made the annotated tunnel's node answer for. */
export interface PeerClaim {
  /** The EgressGateway of the EIP. */
  gateway: string;
  /** The EIP pair as the gateway status lists it (`""` for a missing family). */
  ipv4: string;
  ipv6: string;
  /**
   * The node the gateway status placed the EIP on when the peers made the claimant take over. The
   * controller follows the claim only while the status still names this node: a claim about an
   * older placement is stale.
   */
  from: string;
  /** `metadata.resourceVersion` of the gateway the claimant saw (diagnostics). */
  gatewayResourceVersion?: string;
  /** The epoch of the claimant's peer run (its start, wall-clock ms): a restart gives a new one. */
  epoch?: number;
  /** RFC 3339 time the claim was made (diagnostics). */
  at?: string;
}

/** A claim annotation that could not be read, with the reason. */
export interface PeerClaimParseError {
  readonly index: number | null;
  readonly message: string;
}

/** The annotation value for `claims` (sorted, so equal sets give equal text); `null` removes it. */
export function formatPeerClaims(claims: readonly PeerClaim[]): string | null {
  if (claims.length === 0) return null;
  const key = (c: PeerClaim) => `${c.gateway}\u0000${c.ipv4}\u0000${c.ipv6}`;
  const sorted = [...claims].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return JSON.stringify(
    sorted.map((c) => ({
      gateway: c.gateway,
      ipv4: c.ipv4,
      ipv6: c.ipv6,
      from: c.from,
      ...(c.gatewayResourceVersion !== undefined ? { gatewayResourceVersion: c.gatewayResourceVersion } : {}),
      ...(c.epoch !== undefined ? { epoch: c.epoch } : {}),
      ...(c.at !== undefined ? { at: c.at } : {}),
    })),
  );
}

const str = (v: unknown): v is string => typeof v === 'string';

/**
 * Reads a {@link PEER_CLAIM_ANNOTATION} value. Entries of the wrong shape are left out and named in
 * `errors` (the field and what it must be); a value that is not a JSON list gives no claim.
 */
export function parsePeerClaims(value: string | undefined): {
  claims: PeerClaim[];
  errors: PeerClaimParseError[];
} {
  if (value === undefined || value === '') return { claims: [], errors: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (err) {
    return {
      claims: [],
      errors: [{ index: null, message: `not JSON (${(err as Error).message}); expected a list of claims` }],
    };
  }
  if (!Array.isArray(raw))
    return { claims: [], errors: [{ index: null, message: 'expected a JSON list of claims' }] };
  const claims: PeerClaim[] = [];
  const errors: PeerClaimParseError[] = [];
  raw.forEach((c: unknown, index) => {
    const o = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    const bad = (['gateway', 'ipv4', 'ipv6', 'from'] as const).filter((k) => !str(o[k]));
    if (bad.length > 0 || (o.ipv4 === '' && o.ipv6 === '') || o.gateway === '' || o.from === '') {
      errors.push({
        index,
        message:
          bad.length > 0
            ? `[${index}].${bad[0]} must be a string`
            : `[${index}] needs a gateway, a from node and at least one of ipv4/ipv6`,
      });
      return;
    }
    const claim: PeerClaim = {
      gateway: o.gateway as string,
      ipv4: o.ipv4 as string,
      ipv6: o.ipv6 as string,
      from: o.from as string,
    };
    if (str(o.gatewayResourceVersion)) claim.gatewayResourceVersion = o.gatewayResourceVersion;
    if (typeof o.epoch === 'number' && Number.isFinite(o.epoch)) claim.epoch = o.epoch;
    if (str(o.at)) claim.at = o.at;
    claims.push(claim);
  });
  return { claims, errors };
}
