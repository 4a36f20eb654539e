import {
  canonicalIpOrText,
  findOverlaps,
  type PoolSegment,
  parsePool,
  poolContains,
  poolExclusionOf,
} from '@egressgateway/netaddr';
import { NAMESPACE_DEFAULT_GATEWAY_LABEL } from './constants.js';
import { type CrossObjectError, joinPath, type ValidationError } from './errors.js';
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

/** What {@link validateAgainstCluster} compares an incoming object with: the stored gateways. */
export interface ClusterView {
  readonly gateways: readonly EgressGateway[];
}

/** The admission operation an object arrives with. */
export type AdmissionOperation = 'CREATE' | 'UPDATE';

const same = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && a !== '' && b !== undefined && b !== '' && canonicalIpOrText(a) === canonicalIpOrText(b);

function gatewayAgainst(gw: EgressGateway, view: ClusterView): ValidationError[] {
  const out: ValidationError[] = [];
  const name = gw.metadata?.name ?? '';
  const others = view.gateways.filter((g) => (g.metadata?.name ?? '') !== name);
  if (gw.spec?.clusterDefault === true) {
    const current = others.filter((g) => g.spec?.clusterDefault === true).map((g) => g.metadata?.name ?? '');
    if (current.length > 0) {
      out.push({
        path: 'spec.clusterDefault',
        message: `EgressGateway ${current.sort().join(', ')} is already the cluster default: set clusterDefault on one gateway only (unset it there first)`,
      });
    }
  }
  for (const field of ['ipv4', 'ipv6'] as const) {
    const mine = parsePool(gw.spec?.ippools?.[field]).segments;
    if (mine.length === 0) continue;
    const owner = new Map<PoolSegment, string>();
    const theirs: PoolSegment[] = [];
    for (const g of others) {
      for (const s of parsePool(g.spec?.ippools?.[field]).segments) {
        owner.set(s, g.metadata?.name ?? '');
        theirs.push(s);
      }
    }
    const reported = new Set<number>();
    for (const o of findOverlaps([...mine, ...theirs])) {
      const aMine = mine.includes(o.a);
      const bMine = mine.includes(o.b);
      if (aMine === bMine) continue; // within this gateway (validateResource) or between two others
      const [own, other] = aMine ? [o.a, o.b] : [o.b, o.a];
      if (reported.has(own.index)) continue;
      reported.add(own.index);
      out.push({
        path: joinPath(`spec.ippools.${field}`, own.index),
        message: `"${own.entry}" overlaps the pool of EgressGateway ${owner.get(other)} (both contain ${o.address}): an address may belong to one gateway only`,
      });
    }
  }
  return out;
}

function policyAgainst(p: EgressPolicy | EgressClusterPolicy, view: ClusterView): ValidationError[] {
  const name = p.spec?.egressGatewayName ?? '';
  if (name === '') {
    const how =
      p.kind === 'EgressPolicy'
        ? `set spec.egressGatewayName, label the namespace ${NAMESPACE_DEFAULT_GATEWAY_LABEL}=<gateway>, or make a gateway the cluster default (spec.clusterDefault: true)`
        : 'set spec.egressGatewayName or make a gateway the cluster default (spec.clusterDefault: true)';
    return [
      { path: 'spec.egressGatewayName', message: `no gateway is named and there is no default: ${how}` },
    ];
  }
  const gw = view.gateways.find((g) => g.metadata?.name === name);
  if (!gw) {
    return [
      {
        path: 'spec.egressGatewayName',
        message: `EgressGateway "${name}" does not exist: create it first or name an existing gateway`,
      },
    ];
  }
  const out: ValidationError[] = [];
  const egressIP = p.spec?.egressIP ?? {};
  const pools = gw.spec?.ippools ?? {};
  const pool = { ipv4: parsePool(pools.ipv4), ipv6: parsePool(pools.ipv6) };
  if (!egressIP.useNodeIP && pool.ipv4.segments.length === 0 && pool.ipv6.segments.length === 0) {
    out.push({
      path: 'spec.egressGatewayName',
      message: `EgressGateway ${name} has no EIP pool: add addresses to its spec.ippools or set spec.egressIP.useNodeIP: true`,
    });
  }
  for (const field of ['ipv4', 'ipv6'] as const) {
    const eip = egressIP[field];
    if (eip && !poolContains(pool[field], eip)) {
      const x = poolExclusionOf(pool[field], eip);
      out.push({
        path: `spec.egressIP.${field}`,
        message: x
          ? `${eip} is the ${x.role} address of ${x.entry} in EgressGateway ${name}, which a pool leaves out: choose another address from its spec.ippools.${field}`
          : `${eip} is not in the ${field} pool of EgressGateway ${name}: choose an address from its spec.ippools.${field}`,
      });
    }
  }
  const v4 = egressIP.ipv4;
  const v6 = egressIP.ipv6;
  if (v4 && v6) {
    // The default EIPs are a pair: one of them with another address would split it.
    const d4 = pools.ipv4DefaultEIP;
    const d6 = pools.ipv6DefaultEIP;
    if (same(v4, d4) && d6 && !same(v6, d6)) {
      out.push({
        path: 'spec.egressIP.ipv6',
        message: `${v4} is the gateway's default IPv4 EIP, which pairs with its default IPv6 EIP ${d6}: use ${d6} or leave ipv6 empty`,
      });
    } else if (same(v6, d6) && d4 && !same(v4, d4)) {
      out.push({
        path: 'spec.egressIP.ipv4',
        message: `${v6} is the gateway's default IPv6 EIP, which pairs with its default IPv4 EIP ${d4}: use ${d4} or leave ipv4 empty`,
      });
    }
    // An EIP already in use is paired; a policy cannot pair it differently.
    for (const node of gw.status?.nodeList ?? []) {
      for (const e of node.eips ?? []) {
        if (same(e.ipv4, v4) && e.ipv6 && !same(e.ipv6, v6)) {
          out.push({
            path: 'spec.egressIP.ipv6',
            message: `${v4} is in use on node ${node.name} paired with ${e.ipv6}: use ${e.ipv6} or leave ipv6 empty`,
          });
        } else if (same(e.ipv6, v6) && e.ipv4 && !same(e.ipv4, v4)) {
          out.push({
            path: 'spec.egressIP.ipv4',
            message: `${v6} is in use on node ${node.name} paired with ${e.ipv4}: use ${e.ipv4} or leave ipv4 empty`,
          });
        }
      }
    }
  }
  return out;
}

/**
 * Checks one incoming object (already valid alone, see {@link validateResource}, and already
 * defaulted) against the stored gateways, as upstream's admission webhook does; every error is
 * about the incoming object, so an API server can refuse it.
 *
 * - EgressGateway (create and update): no address shared with another gateway's pool, at most
 *   one cluster default.
 * - EgressPolicy / EgressClusterPolicy (create only, as upstream: these fields are immutable
 *   afterwards): a gateway is named and exists; its pools are not both empty unless
 *   `useNodeIP`; an explicit EIP lies in the pool; the default EIPs are used only as their pair;
 *   an explicit pair does not split a pair the gateway's status already uses.
 *
 * @example
 * const errors = validateAgainstCluster(incoming, { gateways: cache.list() }, 'CREATE');
 */
export function validateAgainstCluster(
  obj: EgressObject,
  view: ClusterView,
  operation: AdmissionOperation,
): ValidationError[] {
  if (obj.kind === 'EgressGateway') return gatewayAgainst(obj as EgressGateway, view);
  if ((obj.kind === 'EgressPolicy' || obj.kind === 'EgressClusterPolicy') && operation === 'CREATE')
    return policyAgainst(obj as EgressPolicy | EgressClusterPolicy, view);
  return [];
}
