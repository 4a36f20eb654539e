import { canonicalIpOrText, parsePool, poolContains } from '@egressgateway/netaddr';
import type { ValidationError, ValidationResult } from './errors.js';
import type { EgressGateway, EgressPolicy } from './schemas/index.js';
import { type EgressObject, validateResource } from './validate.js';

const IMMUTABLE_POLICY_FIELDS = [
  ['egressGatewayName', (p: EgressPolicy) => p.spec?.egressGatewayName ?? ''],
  ['egressIP.ipv4', (p: EgressPolicy) => canonicalIpOrText(p.spec?.egressIP?.ipv4 ?? '')],
  ['egressIP.ipv6', (p: EgressPolicy) => canonicalIpOrText(p.spec?.egressIP?.ipv6 ?? '')],
  ['egressIP.useNodeIP', (p: EgressPolicy) => p.spec?.egressIP?.useNodeIP ?? false],
  ['egressIP.allocatorPolicy', (p: EgressPolicy) => p.spec?.egressIP?.allocatorPolicy ?? 'default'],
] as const;

/**
 * Validates an update of `oldObj` to `newObj`: the new object alone (as
 * {@link validateResource}), plus the rules that need both: a policy's gateway and EIP
 * settings are immutable, an EIP the gateway's status lists cannot leave its pool, and a pool of
 * one family cannot appear on a gateway created without one.
 */
export function validateUpdate(oldObj: EgressObject, newObj: unknown): ValidationResult<EgressObject> {
  const r = validateResource(newObj);
  if (!r.ok) return r;
  const next = r.value;
  const errors: ValidationError[] = [];
  if (oldObj.kind !== next.kind) {
    return {
      ok: false,
      errors: [{ path: 'kind', message: `kind cannot change from ${oldObj.kind} to ${next.kind}` }],
    };
  }
  if (oldObj.metadata?.name !== next.metadata?.name) {
    errors.push({ path: 'metadata.name', message: 'name cannot change: create a new object instead' });
  }
  if (next.kind === 'EgressPolicy' || next.kind === 'EgressClusterPolicy') {
    for (const [field, get] of IMMUTABLE_POLICY_FIELDS) {
      const before = get(oldObj as EgressPolicy);
      const after = get(next as EgressPolicy);
      if (before !== after) {
        errors.push({
          path: `spec.${field}`,
          message: `field is immutable (was ${JSON.stringify(before)}, now ${JSON.stringify(after)}): delete and recreate the policy to change it`,
        });
      }
    }
  }
  if (next.kind === 'EgressGateway') {
    const before = oldObj as EgressGateway;
    const after = next as EgressGateway;
    const pools = {
      ipv4: parsePool(after.spec?.ippools?.ipv4),
      ipv6: parsePool(after.spec?.ippools?.ipv6),
    };
    for (const field of ['ipv4', 'ipv6'] as const) {
      // As upstream: policies of a gateway created without a pool of one family got no EIP of
      // that family, and nothing would give them one later; a new gateway starts them right.
      const had = parsePool(before.spec?.ippools?.[field]).segments.length > 0;
      if (!had && pools[field].segments.length > 0) {
        errors.push({
          path: `spec.ippools.${field}`,
          message: `the gateway was created without an ${field === 'ipv4' ? 'IPv4' : 'IPv6'} pool and cannot get one: create a new EgressGateway with both pools and move the policies to it`,
        });
      }
    }
    for (const node of before.status?.nodeList ?? []) {
      for (const eip of node.eips ?? []) {
        const users = (eip.policies ?? []).map((p) => (p.namespace ? `${p.namespace}/${p.name}` : p.name));
        for (const field of ['ipv4', 'ipv6'] as const) {
          const address = eip[field];
          // Any EIP the status lists counts as assigned (as upstream), with or without policies.
          if (address && !poolContains(pools[field], address)) {
            errors.push({
              path: `spec.ippools.${field}`,
              message: `${address} is assigned on node ${node.name}${users.length > 0 ? ` and used by ${users.join(', ')}` : ''}: keep it in the pool until the status no longer lists it`,
            });
          }
        }
      }
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: next };
}
