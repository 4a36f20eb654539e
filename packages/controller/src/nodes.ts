// The controller's view of a Node: what the failover engine and the tunnel planner read, nothing
// else. Kubelets rewrite their Node's status (conditions' heartbeat times, images, allocatable)
// every few minutes; none of that decides where an EIP lives.
import type { NodeLike } from '@egressgateway/failover';

/** A Node as the controller caches it. */
export interface NodeView {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
  };
  /** The pod CIDRs the controller manager allocated (EgressClusterInfo `k8s` mode). */
  spec?: { podCIDRs?: string[] };
  status?: {
    /** The Ready condition only (type and status). */
    conditions?: Array<{ type: string; status: string }>;
    /** The InternalIP addresses only, in the Node's order. */
    addresses?: Array<{ type: string; address: string }>;
  };
}

/**
 * Reduces a Node to its name, labels (gateway node selectors), Ready condition (a NotReady node holds
 * no EIP), InternalIP addresses (the status of `useNodeIP` policies, EgressClusterInfo node IPs)
 * and pod CIDRs (EgressClusterInfo).
 */
export function nodeView(
  node: NodeLike & {
    readonly metadata?: { readonly resourceVersion?: string | undefined } | undefined;
    readonly spec?: { readonly podCIDRs?: readonly string[] | undefined } | undefined;
  },
): NodeView {
  const m = node.metadata;
  const view: NodeView = {
    metadata: {
      ...(m?.name !== undefined ? { name: m.name } : {}),
      ...(m?.labels !== undefined ? { labels: m.labels } : {}),
      ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    },
  };
  const podCIDRs = node.spec?.podCIDRs;
  if (podCIDRs && podCIDRs.length > 0) view.spec = { podCIDRs: [...podCIDRs] };
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const addresses = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP');
  if (ready !== undefined || addresses.length > 0) {
    view.status = {
      ...(ready !== undefined ? { conditions: [{ type: 'Ready', status: ready.status }] } : {}),
      ...(addresses.length > 0
        ? { addresses: addresses.map((a) => ({ type: a.type, address: a.address })) }
        : {}),
    };
  }
  return view;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b !== undefined && Object.hasOwn(b, k) && a?.[k] === b[k]);
}

/** Whether two views of a Node differ in anything the controller reads. */
export function nodeViewChanged(a: NodeView, b: NodeView): boolean {
  if (a.metadata?.name !== b.metadata?.name || !sameLabels(a.metadata?.labels, b.metadata?.labels))
    return true;
  if (a.status?.conditions?.[0]?.status !== b.status?.conditions?.[0]?.status) return true;
  const pa = a.spec?.podCIDRs ?? [];
  const pb = b.spec?.podCIDRs ?? [];
  if (pa.length !== pb.length || pa.some((c, i) => c !== pb[i])) return true;
  const xa = a.status?.addresses ?? [];
  const xb = b.status?.addresses ?? [];
  return xa.length !== xb.length || xa.some((x, i) => x.address !== xb[i]?.address);
}
