import type { EgressChanges, EgressPolicyLike, EgressState } from './egress-types.js';
import { nameOf } from './egress-types.js';

/**
 * Returns a new state with the changes written, as the controller's status writes would (tunnel
 * phases, gateway `status.nodeList`, policy `status`). The input is not modified. Useful to test an
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
  const nodeLists = new Map(changes.gateways.map((g) => [g.name, g.nodeList] as const));
  const statuses = new Map<string, { eip: { ipv4: string; ipv6: string }; node: string }>(
    changes.policies.map((p) => [`${p.kind}/${p.namespace ?? ''}/${p.name}`, p.status]),
  );
  const patchPolicy = (kind: string, p: EgressPolicyLike, namespace: string): EgressPolicyLike => {
    const status = statuses.get(`${kind}/${namespace}/${nameOf(p)}`);
    return status === undefined ? p : { ...p, status: { eip: { ...status.eip }, node: status.node } };
  };
  return {
    ...state,
    tunnels: state.tunnels.map((t) => {
      const phase = phases.get(nameOf(t.tunnel));
      if (phase === undefined) return t;
      return { ...t, tunnel: { ...t.tunnel, status: { ...t.tunnel.status, phase } } };
    }),
    gateways: state.gateways.map((g) => {
      const nodeList = nodeLists.get(nameOf(g));
      return nodeList === undefined
        ? g
        : { ...g, status: { ...g.status, nodeList: structuredClone(nodeList) } };
    }),
    policies: state.policies.map((p) => patchPolicy('EgressPolicy', p, p.metadata?.namespace ?? '')),
    clusterPolicies: state.clusterPolicies.map((p) => patchPolicy('EgressClusterPolicy', p, '')),
  };
}
