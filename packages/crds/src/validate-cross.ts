import { findOverlaps, type PoolSegment, parsePool, poolContains } from '@egressgateway/netaddr';
import type { CrossObjectError } from './errors.js';
import type { EgressClusterPolicy, EgressGateway, EgressPolicy } from './schemas/index.js';
import type { EgressObject } from './validate.js';

/** `Kind/name` or `Kind/namespace/name`, as cross-object errors name their object. */
export function objectRef(obj: EgressObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${obj.kind}/${ns}/${obj.metadata?.name ?? ''}` : `${obj.kind}/${obj.metadata?.name ?? ''}`;
}

/**
 * Checks the rules that span objects (each object should already pass {@link validateResource}):
 * no address in two gateways' pools, at most one cluster-default gateway, every policy names an
 * existing gateway, and a policy's explicit EIP lies in its gateway's pool. Errors name the
 * object they belong to, so a controller can attach them to it.
 */
export function validateAcrossObjects(objects: readonly EgressObject[]): CrossObjectError[] {
  const errors: CrossObjectError[] = [];
  const gateways = objects.filter((o): o is EgressGateway => o.kind === 'EgressGateway');
  const byName = new Map(gateways.map((g) => [g.metadata?.name ?? '', g]));

  const owner = new Map<PoolSegment, EgressGateway>();
  const all: PoolSegment[] = [];
  for (const g of gateways) {
    for (const field of ['ipv4', 'ipv6'] as const) {
      for (const i of parsePool(g.spec?.ippools?.[field]).segments) {
        owner.set(i, g);
        all.push(i);
      }
    }
  }
  for (const o of findOverlaps(all)) {
    const a = owner.get(o.a);
    const b = owner.get(o.b);
    if (!a || !b || a === b) continue;
    const [first, second] = [a, b].sort((x, y) =>
      (x.metadata?.name ?? '').localeCompare(y.metadata?.name ?? ''),
    );
    if (!first || !second) continue;
    errors.push({
      object: objectRef(second),
      path: `spec.ippools.ipv${o.a.family}`,
      message: `${o.address} is also in the pool of EgressGateway ${first.metadata?.name}: an address may belong to one gateway only`,
    });
  }

  const defaults = gateways.filter((g) => g.spec?.clusterDefault === true);
  if (defaults.length > 1) {
    const names = defaults.map((g) => g.metadata?.name ?? '').sort();
    for (const g of defaults
      .slice()
      .sort((x, y) => (x.metadata?.name ?? '').localeCompare(y.metadata?.name ?? ''))
      .slice(1)) {
      errors.push({
        object: objectRef(g),
        path: 'spec.clusterDefault',
        message: `${names.length} gateways are the cluster default (${names.join(', ')}): set clusterDefault on one only`,
      });
    }
  }

  for (const p of objects) {
    if (p.kind !== 'EgressPolicy' && p.kind !== 'EgressClusterPolicy') continue;
    const policy = p as EgressPolicy | EgressClusterPolicy;
    const name = policy.spec?.egressGatewayName;
    if (!name) continue;
    const gw = byName.get(name);
    if (!gw) {
      errors.push({
        object: objectRef(policy),
        path: 'spec.egressGatewayName',
        message: `EgressGateway "${name}" does not exist: create it or name an existing gateway`,
      });
      continue;
    }
    for (const field of ['ipv4', 'ipv6'] as const) {
      const eip = policy.spec?.egressIP?.[field];
      if (eip && !poolContains(parsePool(gw.spec?.ippools?.[field]), eip)) {
        errors.push({
          object: objectRef(policy),
          path: `spec.egressIP.${field}`,
          message: `${eip} is not in the ${field} pool of EgressGateway ${name}: choose an address from spec.ippools.${field}`,
        });
      }
    }
  }
  return errors;
}
