import type { EgressChanges, EgressPolicyLike, EgressState } from './types.js';
import { nameOf } from './types.js';

/**
 * Returns a new state with the changes written, as the controller's status writes would (tunnel
 * phases, gateway `status.nodeList` and `status.ipUsage`, policy `status`). The input is not modified. Useful to test an
 * embedding and to drive simulations; calling {@link reconcileEgress} again on the result at the same
 * instant returns no changes.
 *
 * @example
 * ```ts
 * const changes = reconcileEgress(state, config, now);
 * const written = applyEgressChanges(state, changes);
 * reconcileEgress(written, config, now).gateways.length; // 0
 * ```
 */
export function applyEgressChanges(state: EgressState, changes: EgressChanges): EgressState {
  const phases = new Map(changes.tunnels.map((t) => [t.name, t.phase] as const));
  const gatewayStatuses = new Map(changes.gateways.map((g) => [g.name, g] as const));
  const statuses = new Map<string, { eip: { ipv4: string; ipv6: string }; node: string }>(
    changes.policies.map((p) => [`${p.kind}/${p.namespace ?? ''}/${p.name}`, p.status]),
  );
  // Like the engine, it takes any state: entries it cannot read are passed on as they are.
  const s = (typeof state === 'object' && state !== null ? state : {}) as Partial<EgressState>;
  const list = <T>(v: readonly T[] | undefined): readonly T[] => (Array.isArray(v) ? v : []);
  const isObj = (v: unknown): v is object => typeof v === 'object' && v !== null;
  const patchPolicy = (kind: string, p: EgressPolicyLike, namespace: unknown): EgressPolicyLike => {
    if (!isObj(p)) return p;
    const status = statuses.get(`${kind}/${typeof namespace === 'string' ? namespace : ''}/${nameOf(p)}`);
    return status === undefined ? p : { ...p, status: { eip: { ...status.eip }, node: status.node } };
  };
  return {
    ...s,
    tunnels: list(s.tunnels).map((t) => {
      if (!isObj(t) || !isObj(t.tunnel)) return t;
      const phase = phases.get(nameOf(t.tunnel));
      if (phase === undefined) return t;
      const status = isObj(t.tunnel.status) ? t.tunnel.status : {};
      return { ...t, tunnel: { ...t.tunnel, status: { ...status, phase } } };
    }),
    gateways: list(s.gateways).map((g) => {
      const change = isObj(g) ? gatewayStatuses.get(nameOf(g)) : undefined;
      if (change === undefined) return g;
      const status = isObj(g.status) ? g.status : {};
      return {
        ...g,
        status: { ...status, nodeList: structuredClone(change.nodeList), ipUsage: { ...change.ipUsage } },
      };
    }),
    nodes: list(s.nodes),
    policies: list(s.policies).map((p) => patchPolicy('EgressPolicy', p, p?.metadata?.namespace)),
    clusterPolicies: list(s.clusterPolicies).map((p) => patchPolicy('EgressClusterPolicy', p, '')),
  };
}
