import type { EgressTunnel } from '@egressgateway/crds';
import type { TunnelAllocator } from './allocator.js';

/** What the leader does to keep one EgressTunnel per Node, each with its allocation. */
export type TunnelAction =
  | { type: 'create'; name: string }
  | { type: 'allocate'; name: string; status: NonNullable<EgressTunnel['status']> }
  | { type: 'delete'; name: string };

/**
 * Plans the tunnel lifecycle (pure apart from the allocator's bookkeeping): a tunnel for every
 * Node, an allocation (mark, MAC, tunnel addresses) on every tunnel, and the tunnel of a deleted
 * Node removed. A tunnel without allocation is `Pending`; allocated but without the agent's parent
 * interface it is `Init`; after that, heartbeats drive the phase (the failover engine). Nodes that
 * no gateway selects do not heartbeat, so their tunnels stay `Init`.
 */
export function planTunnels(
  nodeNames: readonly string[],
  tunnels: readonly EgressTunnel[],
  allocator: TunnelAllocator,
): TunnelAction[] {
  const actions: TunnelAction[] = [];
  const nodes = new Set(nodeNames);
  const byName = new Map(tunnels.map((t) => [t.metadata?.name ?? '', t] as const));
  // Existing allocations first, so a new node can never be given a value someone holds.
  for (const t of tunnels) {
    allocator.adopt({
      name: t.metadata?.name ?? '',
      mark: t.status?.mark,
      mac: t.status?.tunnel?.mac,
      ipv4: t.status?.tunnel?.ipv4,
      ipv6: t.status?.tunnel?.ipv6,
    });
  }
  for (const t of tunnels) {
    const name = t.metadata?.name ?? '';
    if (!nodes.has(name)) {
      allocator.release(name);
      actions.push({ type: 'delete', name });
    }
  }
  for (const name of [...nodes].sort()) {
    const t = byName.get(name);
    if (!t) {
      actions.push({ type: 'create', name });
      continue;
    }
    const s = t.status ?? {};
    const a = allocator.allocate({
      name,
      mark: s.mark,
      mac: s.tunnel?.mac,
      ipv4: s.tunnel?.ipv4,
      ipv6: s.tunnel?.ipv6,
    });
    const hasParent = Boolean(s.tunnel?.parent?.name);
    const upToDate =
      s.mark === a.mark &&
      s.tunnel?.mac === a.mac &&
      (s.tunnel?.ipv4 ?? undefined) === a.ipv4 &&
      (s.tunnel?.ipv6 ?? undefined) === a.ipv6;
    // Only Pending/Init/unset are ours to set here; later phases belong to the engine.
    const wantPhase =
      !s.phase || s.phase === 'Pending' || s.phase === 'Init' ? (hasParent ? 'Init' : 'Pending') : s.phase;
    if (upToDate && wantPhase === s.phase) continue;
    actions.push({
      type: 'allocate',
      name,
      status: {
        mark: a.mark,
        phase: wantPhase,
        tunnel: {
          mac: a.mac,
          ...(a.ipv4 ? { ipv4: a.ipv4 } : {}),
          ...(a.ipv6 ? { ipv6: a.ipv6 } : {}),
        },
      },
    });
  }
  return actions;
}

/** What of a tunnel {@link planTunnels} looks at: its allocation, parent, and an early phase. */
function planningInputs(t: EgressTunnel): string {
  const s = t.status ?? {};
  const early = !s.phase || s.phase === 'Pending' || s.phase === 'Init';
  return JSON.stringify([
    s.mark,
    s.tunnel?.mac,
    s.tunnel?.ipv4,
    s.tunnel?.ipv6,
    Boolean(s.tunnel?.parent?.name),
    early ? (s.phase ?? '') : 'engine',
  ]);
}

/**
 * True when an update of a tunnel can change what {@link planTunnels} plans for it. Heartbeats
 * and the engine's own phase writes (Ready, HeartbeatTimeout, ...) cannot; replanning all N
 * tunnels on each of them made every reconcile of a mass failover O(N) slower than needed.
 */
export function affectsTunnelPlan(before: EgressTunnel, after: EgressTunnel): boolean {
  return planningInputs(before) !== planningInputs(after);
}
