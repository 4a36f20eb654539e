import type { EgressPolicyLike } from './egress-types.js';
import { nameOf } from './egress-types.js';

/**
 * The fields of a policy the engine reads, flattened once per policy object. Informer caches hand the
 * same object to every reconcile until the policy changes, so a WeakMap memo replaces a walk through
 * five nested objects per policy (most of the engine's time at 20 000 policies) with one lookup.
 * The memo is invisible: the facts are a pure function of the object, which is never mutated.
 */
export interface PolicyFacts {
  readonly name: string;
  readonly namespace: string;
  readonly gatewayName: string;
  readonly ipv4: string;
  readonly ipv6: string;
  readonly useNodeIP: boolean;
  readonly allocator: string;
  /** Written `status.eip` and `status.node`. */
  readonly s4: string;
  readonly s6: string;
  readonly node: string;
}

const memo = new WeakMap<EgressPolicyLike, PolicyFacts>();

/** Facts of a policy object (memoised per object). */
export function factsOf(p: EgressPolicyLike): PolicyFacts {
  let f = memo.get(p);
  if (f === undefined) {
    const egressIP = p.spec?.egressIP;
    const status = p.status;
    f = {
      name: nameOf(p),
      namespace: p.metadata?.namespace ?? '',
      gatewayName: p.spec?.egressGatewayName ?? '',
      ipv4: egressIP?.ipv4 ?? '',
      ipv6: egressIP?.ipv6 ?? '',
      useNodeIP: egressIP?.useNodeIP === true,
      allocator: egressIP?.allocatorPolicy ?? 'default',
      s4: status?.eip?.ipv4 ?? '',
      s6: status?.eip?.ipv6 ?? '',
      node: status?.node ?? '',
    };
    memo.set(p, f);
  }
  return f;
}
