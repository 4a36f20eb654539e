import type { ValidationError } from './errors.js';
import type { EgressGateway, EgressPolicy } from './schemas/index.js';
import type { EgressObject } from './validate.js';

/** Which IP families the cluster's egress uses (upstream's `enableIPv4` / `enableIPv6`). */
export interface EnabledFamilies {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

const SWITCH = { ipv4: 'enableIPv4', ipv6: 'enableIPv6' } as const;
const NAME = { ipv4: 'IPv4', ipv6: 'IPv6' } as const;

/**
 * Refuses what a disabled family would need, as upstream's webhook does: a gateway pool or
 * default EIP of that family, a policy's explicit EIP of that family. Nothing of that family
 * would ever be tunnelled, so such an object could never work.
 *
 * @example
 * validateFamilies(gateway, { ipv4: true, ipv6: false }); // [{ path: 'spec.ippools.ipv6', ... }] when it has an IPv6 pool
 */
export function validateFamilies(obj: EgressObject, families: EnabledFamilies): ValidationError[] {
  const out: ValidationError[] = [];
  for (const f of ['ipv4', 'ipv6'] as const) {
    if (families[f]) continue;
    const fix = `${NAME[f]} is disabled in this cluster (${SWITCH[f]}: false): remove it, or enable ${NAME[f]} in the controller and agent settings`;
    if (obj.kind === 'EgressGateway') {
      const pools = (obj as EgressGateway).spec?.ippools;
      if ((pools?.[f] ?? []).some((e) => e.trim() !== ''))
        out.push({ path: `spec.ippools.${f}`, message: fix });
      if (pools?.[`${f}DefaultEIP`]) out.push({ path: `spec.ippools.${f}DefaultEIP`, message: fix });
    } else if (obj.kind === 'EgressPolicy' || obj.kind === 'EgressClusterPolicy') {
      if ((obj as EgressPolicy).spec?.egressIP?.[f]) out.push({ path: `spec.egressIP.${f}`, message: fix });
    }
  }
  return out;
}
