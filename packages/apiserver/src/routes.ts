/** What a request path addresses. Pure parsing: no knowledge of which resources exist. */
export type Route =
  | { kind: 'health' }
  | { kind: 'version' }
  | { kind: 'discovery-api' }
  | { kind: 'discovery-apis' }
  | { kind: 'discovery-group'; group: string }
  | { kind: 'discovery-gv'; group: string; version: string }
  | { kind: 'openapi-root' }
  | { kind: 'openapi-gv'; group: string; version: string }
  | {
      kind: 'resource';
      group: string;
      version: string;
      /** Namespace from the path; `''` when absent. */
      namespace: string;
      resource: string;
      name?: string;
      subresource?: string;
      /** True for the legacy `/watch/` path form. */
      watchPath: boolean;
    }
  | { kind: 'unknown' };

const HEALTH = new Set(['healthz', 'livez', 'readyz']);
/** Named checks under a health route that kube-apiserver serves. */
const HEALTH_CHECKS = new Set(['ping', 'log', 'etcd', 'etcd-readiness', 'informer-sync', 'shutdown']);

/**
 * Parses a request path (without query string) into a {@link Route}.
 *
 * @example
 * ```ts
 * parseRoute('/apis/example.com/v1/namespaces/default/widgets/w1/status');
 * // { kind: 'resource', group: 'example.com', version: 'v1', namespace: 'default',
 * //   resource: 'widgets', name: 'w1', subresource: 'status', watchPath: false }
 * ```
 */
export function parseRoute(path: string): Route {
  let segs: string[];
  try {
    segs = path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return { kind: 'unknown' };
  }
  const [first] = segs;
  if (first === undefined) return { kind: 'unknown' };
  if (HEALTH.has(first)) {
    // The bare check or one of kube-apiserver's named checks; anything else is 404 as there.
    const named = segs.length === 2 && HEALTH_CHECKS.has(segs[1] as string);
    const hook = segs.length === 3 && segs[1] === 'poststarthook';
    return segs.length === 1 || named || hook ? { kind: 'health' } : { kind: 'unknown' };
  }
  if (first === 'version' && segs.length === 1) return { kind: 'version' };
  if (first === 'openapi') {
    if (segs[1] !== 'v3') return { kind: 'unknown' };
    if (segs.length === 2) return { kind: 'openapi-root' };
    if (segs[2] === 'api' && segs.length === 4)
      return { kind: 'openapi-gv', group: '', version: segs[3] as string };
    if (segs[2] === 'apis' && segs.length === 5)
      return { kind: 'openapi-gv', group: segs[3] as string, version: segs[4] as string };
    return { kind: 'unknown' };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (first === 'api') {
    if (segs.length === 1) return { kind: 'discovery-api' };
    group = '';
    version = segs[1] as string;
    rest = segs.slice(2);
  } else if (first === 'apis') {
    if (segs.length === 1) return { kind: 'discovery-apis' };
    if (segs.length === 2) return { kind: 'discovery-group', group: segs[1] as string };
    group = segs[1] as string;
    version = segs[2] as string;
    rest = segs.slice(3);
  } else {
    return { kind: 'unknown' };
  }
  if (rest.length === 0) return { kind: 'discovery-gv', group, version };
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  // `namespaces/<ns>/<resource>...` addresses a namespaced resource; `namespaces[/<name>[/status]]`
  // addresses the namespaces resource itself.
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))
  ) {
    namespace = rest[1] as string;
    rest = rest.slice(2);
  }
  if (rest.length < 1 || rest.length > 3) return { kind: 'unknown' };
  const route: Route = {
    kind: 'resource',
    group,
    version,
    namespace,
    resource: rest[0] as string,
    watchPath,
  };
  if (rest[1] !== undefined) route.name = rest[1];
  if (rest[2] !== undefined) route.subresource = rest[2];
  return route;
}
