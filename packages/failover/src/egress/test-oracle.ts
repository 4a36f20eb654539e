// Test-only oracle: an independent, deliberately naive statement of health and selection used by the
// property tests (not exported from the package).
import type { EgressGatewayLike, EgressState, GatewayNodeStatus } from './types.js';

export function oracleHealthy(
  state: EgressState,
  node: string,
  evictionTimeoutMs: number,
  nowMs: number,
): boolean {
  const t = state.tunnels.find((x) => x.tunnel.metadata?.name === node);
  const n = state.nodes.find((x) => x.metadata?.name === node);
  if (t === undefined || n === undefined || t.observedAt === null || t.draining === true) return false;
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'False';
  return ready && nowMs <= t.observedAt + evictionTimeoutMs;
}

export function oracleSelected(gw: EgressGatewayLike, state: EgressState, node: string): boolean {
  const n = state.nodes.find((x) => x.metadata?.name === node);
  if (n === undefined) return false;
  const labels = n.metadata?.labels ?? {};
  const sel = gw.spec?.nodeSelector?.selector ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator !== 'In') throw new Error('oracle only knows In');
    if (!(e.values ?? []).includes(labels[e.key] as string)) return false;
  }
  return true;
}

/** Every (gateway, unit, node) placement in the written gateway statuses. */
export function placements(
  state: EgressState,
): Array<{ gateway: string; unit: string; node: string; ipv4: string; ipv6: string }> {
  const out: Array<{ gateway: string; unit: string; node: string; ipv4: string; ipv6: string }> = [];
  for (const g of state.gateways) {
    for (const n of (g.status?.nodeList ?? []) as GatewayNodeStatus[]) {
      for (const e of n.eips ?? []) {
        if (e.ipv4 === '' && e.ipv6 === '') {
          for (const p of e.policies)
            out.push({
              gateway: g.metadata?.name ?? '',
              unit: `node:${p.namespace}/${p.name}`,
              node: n.name,
              ipv4: '',
              ipv6: '',
            });
        } else
          out.push({
            gateway: g.metadata?.name ?? '',
            unit: `eip:${e.ipv4}|${e.ipv6}`,
            node: n.name,
            ipv4: e.ipv4,
            ipv6: e.ipv6,
          });
      }
    }
  }
  return out;
}

export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
