// Gateways created under upstream carry its finalizer: upstream's mutating webhook adds it to every
// EgressGateway, and upstream's controller removes it once the gateway is being deleted and no policy
// names it (egress_gateway.go:474-489). We add no finalizer (our webhook refuses such a delete
// instead), but after a move from upstream nothing would remove that one, and deleting a gateway would
// hang in Terminating. So the leader removes it under upstream's own condition.

/** The finalizer upstream's webhook puts on every EgressGateway. */
export const UPSTREAM_GATEWAY_FINALIZER = 'egressgateway.spidernet.io/egressgateway';

interface GatewayMeta {
  metadata?: {
    name?: string;
    resourceVersion?: string;
    deletionTimestamp?: unknown;
    finalizers?: string[];
  };
}

interface PolicyRef {
  spec?: { egressGatewayName?: string };
}

/** A gateway whose upstream finalizer can go: the finalizers to keep, and the version decided on. */
export interface FinalizerRelease {
  readonly name: string;
  /** Its other finalizers, in their order (written as the whole list). */
  readonly keep: string[];
  readonly resourceVersion: string | undefined;
}

/**
 * The gateways being deleted that still carry upstream's finalizer while no policy names them in
 * `spec.egressGatewayName` (upstream's condition), with the finalizers to keep.
 */
export function upstreamFinalizersToRelease(
  gateways: readonly GatewayMeta[],
  policies: readonly PolicyRef[],
): FinalizerRelease[] {
  const named = new Set<string>();
  for (const p of policies) {
    const g = p.spec?.egressGatewayName;
    if (typeof g === 'string' && g !== '') named.add(g);
  }
  const out: FinalizerRelease[] = [];
  for (const g of gateways) {
    const m = g.metadata;
    const name = m?.name;
    if (!name || m?.deletionTimestamp === undefined || m.deletionTimestamp === null) continue;
    const finalizers = m.finalizers ?? [];
    if (!finalizers.includes(UPSTREAM_GATEWAY_FINALIZER) || named.has(name)) continue;
    out.push({
      name,
      keep: finalizers.filter((f) => f !== UPSTREAM_GATEWAY_FINALIZER),
      resourceVersion: m.resourceVersion,
    });
  }
  return out;
}
