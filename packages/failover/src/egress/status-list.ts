// Building blocks of the gateway status the engine writes: unit ordering and comparison with the
// written status (so unchanged gateways produce no write).
import { mustRewrite } from './input-guard.js';
import { type GatewayModel, isEipUnit, type ResolvedEip, type ResolvedPolicy, unitPair } from './model.js';
import { statusIndexOf } from './status-index.js';
import type { EgressState, GatewayEipLike, GatewayNodeStatus } from './types.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Orders a gateway's units: EIPs by pool position (ipv4, then ipv6), then useNodeIP units by key. */
export function unitOrder(gw: GatewayModel): (a: string, b: string) => number {
  // Positions are a deterministic function of the pool and the unit text, so they are kept with the pool model
  // (which lives as long as the `spec.ippools` object): no address is parsed again per comparison.
  const pos = (unit: string): readonly [bigint, bigint] => {
    let found = gw.unitPositions.get(unit);
    if (found === undefined) {
      const { ipv4, ipv6 } = unitPair(unit);
      found = [ipv4 === '' ? -1n : gw.v4.indexOf(ipv4), ipv6 === '' ? -1n : gw.v6.indexOf(ipv6)];
      gw.unitPositions.set(unit, found);
    }
    return found;
  };
  return (a, b) => {
    const ea = isEipUnit(a);
    const eb = isEipUnit(b);
    if (ea !== eb) return ea ? -1 : 1;
    if (!ea) return cmp(a, b);
    const [a4, a6] = pos(a);
    const [b4, b6] = pos(b);
    const d = a4 !== b4 ? a4 - b4 : a6 - b6;
    return d < 0n ? -1 : d > 0n ? 1 : cmp(a, b);
  };
}

/**
 * Whether the gateway's written `status.nodeList` already is what would be built, checked without
 * allocating. Conservative: anything unusual (useNodeIP entries, non-canonical text) answers false and
 * the caller builds and compares the full list.
 *
 * `units` maps each unit of the gateway to its users (in canonical policy order, all with the
 * same `member`), and `placedCount` is how many of them have a member. Every written EIP must be a unit
 * placed on that very node, in strictly increasing `order` (so listed once per node); a unit has one
 * member, so no unit is listed on two nodes, and equal totals then mean every node lists exactly the
 * units placed on it.
 */
export function writtenListMatches(
  gw: GatewayModel,
  phaseOf: ReadonlyMap<string, string>,
  placedCount: number,
  units: ReadonlyMap<string, readonly ResolvedPolicy[]> | undefined,
  order: (a: string, b: string) => number,
): boolean {
  const current = gw.gateway.status?.nodeList ?? [];
  if (current.length !== gw.candidates.length || mustRewrite(current)) return false;
  // The written pairs were resolved once, when the status was indexed.
  const canonical = statusIndexOf(gw).canonical;
  let listed = 0;
  for (let i = 0; i < current.length; i++) {
    const c = current[i];
    const name = gw.candidates[i] as string;
    if (c === undefined || c.name !== name || (c.status ?? '') !== (phaseOf.get(name) ?? 'Pending'))
      return false;
    const eips = c.eips ?? [];
    listed += eips.length;
    if (listed > placedCount) return false;
    let previousUnit: string | null = null;
    const pairs = canonical[i] as ReadonlyArray<ResolvedEip | null>;
    for (let j = 0; j < eips.length; j++) {
      const e = eips[j] as GatewayEipLike;
      const pair = pairs[j] ?? null;
      if (pair === null) return false;
      // Users are in (kind, namespace, name) order, which is the written (namespace, name) order
      // because cluster policies have the empty namespace.
      const users = units?.get(pair.unit);
      if (users === undefined || (users[0] as ResolvedPolicy).member !== name) return false;
      if (previousUnit !== null && order(previousUnit, pair.unit) >= 0) return false;
      previousUnit = pair.unit;
      const refs = e.policies ?? [];
      if (refs.length !== users.length) return false;
      for (let k = 0; k < refs.length; k++) {
        const ref = refs[k];
        const u = users[k] as ResolvedPolicy;
        if (ref === undefined || ref.name !== u.name || (ref.namespace ?? '') !== u.namespace) return false;
      }
    }
  }
  return listed === placedCount;
}

/** A written `status.nodeList`. */
export type NodeListLike = NonNullable<
  NonNullable<NonNullable<EgressState['gateways'][number]['status']>['nodeList']>
>;

/** Whether a written nodeList equals a desired one (missing fields count as empty). */
export function sameNodeList(current: NodeListLike, desired: readonly GatewayNodeStatus[]): boolean {
  if (current.length !== desired.length || mustRewrite(current)) return false;
  for (let i = 0; i < desired.length; i++) {
    const c = current[i];
    const d = desired[i] as GatewayNodeStatus;
    if (c === undefined || c.name !== d.name || (c.status ?? '') !== d.status) return false;
    const ce = c.eips ?? [];
    const de = d.eips ?? [];
    if (ce.length !== de.length) return false;
    for (let j = 0; j < de.length; j++) {
      const x = ce[j];
      const y = de[j];
      if (x === undefined || y === undefined) return false;
      if ((x.ipv4 ?? '') !== y.ipv4 || (x.ipv6 ?? '') !== y.ipv6) return false;
      const xp = x.policies ?? [];
      if (xp.length !== y.policies.length) return false;
      for (let k = 0; k < xp.length; k++) {
        const a = xp[k];
        const b = y.policies[k];
        if (a === undefined || b === undefined || a.name !== b.name || (a.namespace ?? '') !== b.namespace)
          return false;
      }
    }
  }
  return true;
}
