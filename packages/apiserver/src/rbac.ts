import type { RequestRecord } from './audit.js';

/** One RBAC policy rule (rbac.authorization.k8s.io/v1 `PolicyRule`). */
export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** The RBAC objects the decision reads: Roles, ClusterRoles and their bindings, as stored. */
export interface RbacObject {
  kind: string;
  metadata: { name?: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { kind: string; name: string; apiGroup?: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

/** Which rule allowed a request. */
export interface RbacGrant {
  /** `ClusterRoleBinding/<name>` or `RoleBinding/<ns>/<name>`, or `group system:masters`. */
  binding: string;
  /** `ClusterRole/<name>` or `Role/<ns>/<name>`. */
  role?: string;
  /** Index of the rule in the role's `rules`. */
  rule?: number;
}

/** The decision on one request: allowed with the grant that allowed it, or not. */
export type RbacDecision = { allowed: true; by: RbacGrant } | { allowed: false };

const has = (list: string[] | undefined, value: string): boolean =>
  list !== undefined && (list.includes('*') || list.includes(value));

function subjectMatches(
  s: { kind: string; name: string; namespace?: string },
  r: RequestRecord,
  bindingNs: string | undefined,
): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === r.user;
    case 'Group':
      return r.groups.includes(s.name);
    case 'ServiceAccount':
      return r.user === `system:serviceaccount:${s.namespace ?? bindingNs ?? ''}:${s.name}`;
    default:
      return false;
  }
}

/** Whether one rule covers a request (kube-apiserver's RBAC rule matching). */
export function ruleAllows(rule: PolicyRule, r: RequestRecord): boolean {
  if (!has(rule.verbs, r.verb)) return false;
  if (r.resource === undefined) {
    const path = r.path ?? '';
    return (rule.nonResourceURLs ?? []).some(
      (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
    );
  }
  if (!has(rule.apiGroups, r.apiGroup ?? '')) return false;
  const full = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const resources = rule.resources ?? [];
  // `*`, the exact `resource[/subresource]`, or `*/<subresource>`; Kubernetes has no `resource/*`.
  const resourceOk =
    resources.includes('*') ||
    resources.includes(full) ||
    (r.subresource !== undefined && resources.includes(`*/${r.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (r.name !== undefined && names.includes(r.name));
}

/**
 * Decides a request as kube-apiserver's RBAC authorizer does: `system:masters` may do anything;
 * a ClusterRoleBinding grants its ClusterRole everywhere; a RoleBinding grants its Role (or a
 * ClusterRole) only in its own namespace, for namespaced requests. Pure.
 *
 * @example
 * ```ts
 * authorize({ user: 'system:serviceaccount:egw:agent', groups: [], verb: 'list', apiGroup: '',
 *   resource: 'pods', code: 200 }, objects); // { allowed: true, by: { binding: 'ClusterRoleBinding/…', … } }
 * ```
 */
export function authorize(r: RequestRecord, objects: readonly RbacObject[]): RbacDecision {
  if (r.groups.includes('system:masters')) return { allowed: true, by: { binding: 'group system:masters' } };
  const role = (kind: string, name: string, ns: string | undefined) =>
    objects.find(
      (o) =>
        o.kind === kind &&
        o.metadata.name === name &&
        (kind === 'ClusterRole' || o.metadata.namespace === ns),
    );
  for (const b of objects) {
    if (b.kind !== 'ClusterRoleBinding' && b.kind !== 'RoleBinding') continue;
    const bns = b.kind === 'RoleBinding' ? b.metadata.namespace : undefined;
    // A RoleBinding only reaches requests in its namespace.
    if (bns !== undefined && r.namespace !== bns) continue;
    if (!(b.subjects ?? []).some((s) => subjectMatches(s, r, bns))) continue;
    const ref = b.roleRef;
    if (ref === undefined) continue;
    const target = role(ref.kind, ref.name, bns);
    const rules = target?.rules ?? [];
    const i = rules.findIndex((rule) => ruleAllows(rule, r));
    if (i >= 0)
      return {
        allowed: true,
        by: {
          binding:
            bns === undefined
              ? `ClusterRoleBinding/${b.metadata.name}`
              : `RoleBinding/${bns}/${b.metadata.name}`,
          role: ref.kind === 'ClusterRole' ? `ClusterRole/${ref.name}` : `Role/${bns}/${ref.name}`,
          rule: i,
        },
      };
  }
  return { allowed: false };
}

/**
 * kube-apiserver's text for a refused request (403 Forbidden): the resource qualified by its
 * group (`deployments.apps "x" is forbidden: …`), then RBAC's sentence with `resource/subresource`.
 */
export function forbiddenMessage(r: RequestRecord): string {
  if (r.resource === undefined) return `forbidden: User "${r.user}" cannot ${r.verb} path "${r.path ?? ''}"`;
  const res = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const qualified = r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource;
  const what = r.name !== undefined ? `${qualified} "${r.name}"` : qualified;
  const where = r.namespace !== undefined ? ` in the namespace "${r.namespace}"` : ' at the cluster scope';
  return `${what} is forbidden: User "${r.user}" cannot ${r.verb} resource "${res}" in API group "${r.apiGroup ?? ''}"${where}`;
}
