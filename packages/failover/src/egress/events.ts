// Messages and ordering of the events and problems the engine reports.
import type { MemberHealth } from '../core/heartbeat.js';
import { type GatewayModel, type ResolvedPolicy, unitPolicy } from './model.js';
import type { EgressEvent, EipPair } from './types.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `ipv4/ipv6` (either may be missing) for messages. */
export function eipText(eip: EipPair): string {
  return [eip.ipv4, eip.ipv6].filter((x) => x !== '').join('/');
}

/** Why a node lost its EIPs, for event messages. */
export function whyText(h: MemberHealth | undefined, selected: boolean, evictionTimeoutMs: number): string {
  if (!selected) return 'node is no longer selected by the gateway';
  switch (h?.reason) {
    case 'HeartbeatTimeout':
      return `HeartbeatTimeout: no heartbeat observed for more than ${evictionTimeoutMs} ms (fresh until ${h.freshUntil})`;
    case 'NotReady':
      return 'NodeNotReady: the Node Ready condition is not True';
    case 'Draining':
      return 'Draining: planned handover, the agent is shutting down';
    default:
      return 'NoHeartbeat: the node has never heartbeated';
  }
}

/** The level-triggered problem for an EIP (or node-IP policy) with no healthy node. */
export function unassignable(
  group: string,
  unit: string,
  unitsByGateway: ReadonlyMap<string, ReadonlyMap<string, ResolvedPolicy[]>>,
  gateways: ReadonlyMap<string, GatewayModel>,
): EgressEvent {
  const users = unitsByGateway.get(group)?.get(unit) ?? [];
  const first = users[0]?.eip ?? null;
  const eip = first === null ? null : { ipv4: first.ipv4, ipv6: first.ipv6 };
  const gw = gateways.get(group);
  const what = eip === null ? `node IP of policy ${unitPolicy(unit)}` : `EIP ${eipText(eip)}`;
  return {
    type: 'Warning',
    reason: 'EIPUnassignable',
    message: `${what} has no healthy selected node (${gw?.candidates.length ?? 0} selected)`,
    involvedObject: { kind: 'EgressGateway', name: group },
    ...(eip ? { eip } : {}),
  };
}

/** Stable order of events and problems: involved object, then reason, then message. */
export function compareEvents(a: EgressEvent, b: EgressEvent): number {
  return (
    cmp(a.involvedObject.kind, b.involvedObject.kind) ||
    cmp(a.involvedObject.namespace ?? '', b.involvedObject.namespace ?? '') ||
    cmp(a.involvedObject.name, b.involvedObject.name) ||
    cmp(a.reason, b.reason) ||
    cmp(a.message, b.message)
  );
}
