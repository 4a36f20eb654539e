/**
 * A Pod as the apps cache it: the fields egress rules and endpoint slices read (`resourceVersion`
 * for the informer's change detection). A real pod also carries container specs, env, volumes and
 * container statuses, kilobytes each, that neither app depends on.
 */
export interface PodView {
  metadata?:
    | { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string }
    | undefined;
  spec?: { nodeName?: string; hostNetwork?: boolean } | undefined;
  status?: { podIP?: string; podIPs?: Array<{ ip: string }>; phase?: string } | undefined;
}

/**
 * Reduces a Pod to a {@link PodView}, for an informer's `transform`: the cache then holds this
 * instead of the whole object.
 *
 * @example
 * ```ts
 * informers.add(PODS, { transform: (p) => podView(p), notifyWhen: podViewChanged });
 * ```
 */
export function podView(pod: PodView): PodView {
  const m = pod.metadata;
  const view: PodView = {
    metadata: {
      ...(m?.name !== undefined ? { name: m.name } : {}),
      ...(m?.namespace !== undefined ? { namespace: m.namespace } : {}),
      ...(m?.labels !== undefined ? { labels: m.labels } : {}),
      ...(m?.resourceVersion !== undefined ? { resourceVersion: m.resourceVersion } : {}),
    },
  };
  const spec = pod.spec;
  if (spec?.nodeName !== undefined || spec?.hostNetwork !== undefined)
    view.spec = {
      ...(spec.nodeName !== undefined ? { nodeName: spec.nodeName } : {}),
      ...(spec.hostNetwork !== undefined ? { hostNetwork: spec.hostNetwork } : {}),
    };
  const st = pod.status;
  if (st?.podIP !== undefined || st?.podIPs !== undefined || st?.phase !== undefined)
    view.status = {
      ...(st.podIP !== undefined ? { podIP: st.podIP } : {}),
      ...(st.podIPs !== undefined ? { podIPs: st.podIPs.map((x) => ({ ip: x.ip })) } : {}),
      ...(st.phase !== undefined ? { phase: st.phase } : {}),
    };
  return view;
}

/**
 * Whether two views of a pod differ in anything a {@link PodView} reader depends on (labels, node,
 * host network, addresses, phase). Container restarts and readiness flips, most of a cluster's pod
 * updates, do not.
 */
export function podViewChanged(a: PodView, b: PodView): boolean {
  return (
    a.spec?.nodeName !== b.spec?.nodeName ||
    a.status?.phase !== b.status?.phase ||
    a.spec?.hostNetwork !== b.spec?.hostNetwork ||
    a.status?.podIP !== b.status?.podIP ||
    !sameIps(a.status?.podIPs ?? [], b.status?.podIPs ?? []) ||
    !sameLabels(a.metadata?.labels, b.metadata?.labels)
  );
}

function sameIps(a: ReadonlyArray<{ ip: string }>, b: ReadonlyArray<{ ip: string }>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]?.ip !== b[i]?.ip) return false;
  return true;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  for (const k of ka) if (a?.[k] !== b?.[k]) return false;
  return true;
}
