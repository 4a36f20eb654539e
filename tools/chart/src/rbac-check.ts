import { authorize, type PolicyRule, type RbacObject, type RequestRecord } from '@egressgateway/apiserver';
import { isMap, isSeq, parseAllDocuments } from 'yaml';

/** One rule of the chart's RBAC, with the comment that justifies it when no request uses it. */
export interface ChartRule {
  /** `ClusterRole/<name>` or `Role/<namespace>/<name>`. */
  role: string;
  index: number;
  rule: PolicyRule;
  /** Text after `# rbac:` in the comment above the rule, if any. */
  justification: string | undefined;
}

/** The outcome of holding recorded requests against the chart's RBAC. */
export interface RbacCheck {
  /** Requests of the chart's ServiceAccounts that the chart's RBAC does not allow. */
  denied: RequestRecord[];
  /** Rules that no request used and no `# rbac:` comment justifies. */
  unused: ChartRule[];
  /** Rules no request used, justified by their comment. */
  justified: ChartRule[];
  /** How many requests each rule allowed (`role#index`). */
  uses: Map<string, number>;
}

/**
 * The RBAC objects of rendered manifests (`helm template` output), with every rule and the
 * `# rbac: <reason>` comment written above it in the template (Helm keeps template comments).
 */
export function chartRbac(rendered: string): { objects: RbacObject[]; rules: ChartRule[] } {
  const objects: RbacObject[] = [];
  const rules: ChartRule[] = [];
  for (const doc of parseAllDocuments(rendered)) {
    const o = doc.toJS() as RbacObject | null;
    if (o === null || !['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(o.kind))
      continue;
    objects.push(o);
    if (o.kind !== 'Role' && o.kind !== 'ClusterRole') continue;
    const role =
      o.kind === 'Role'
        ? `Role/${o.metadata.namespace}/${o.metadata.name}`
        : `ClusterRole/${o.metadata.name}`;
    const seq = isMap(doc.contents) ? doc.contents.get('rules', true) : undefined;
    (o.rules ?? []).forEach((rule, index) => {
      const node = isSeq(seq) ? seq.items[index] : undefined;
      const comment = (node as { commentBefore?: string } | undefined)?.commentBefore ?? '';
      const m = /(?:^|\n)\s*rbac:\s*(.+)/.exec(comment);
      rules.push({ role, index, rule, justification: m?.[1]?.trim() });
    });
  }
  return { objects, rules };
}

/**
 * Holds the requests of the given users (the chart's ServiceAccounts) against the chart's RBAC:
 * every request must be allowed, and every rule must be used by some request or justified.
 */
export function checkRbac(
  rendered: string,
  records: readonly RequestRecord[],
  users: readonly string[],
): RbacCheck {
  const { objects, rules } = chartRbac(rendered);
  const uses = new Map<string, number>();
  const denied: RequestRecord[] = [];
  for (const r of records) {
    if (!users.includes(r.user)) continue;
    // Discovery and OpenAPI are every authenticated user's (system:discovery), not the chart's.
    if (r.resource === undefined) continue;
    const d = authorize(r, objects);
    if (!d.allowed) {
      denied.push(r);
      continue;
    }
    // Count every chart rule that covers the request, not only the first: a rule is needed when
    // some request depends on it.
    for (const cr of rules)
      if (coversWithBinding(cr, r, objects)) {
        const k = `${cr.role}#${cr.index}`;
        uses.set(k, (uses.get(k) ?? 0) + 1);
      }
  }
  const idle = rules.filter((cr) => !uses.has(`${cr.role}#${cr.index}`));
  return {
    denied,
    unused: idle.filter((cr) => cr.justification === undefined),
    justified: idle.filter((cr) => cr.justification !== undefined),
    uses,
  };
}

/** True when a binding gives this rule's role to the request's user where the request is. */
function coversWithBinding(cr: ChartRule, r: RequestRecord, objects: readonly RbacObject[]): boolean {
  const only = objects.filter((o) => {
    if (o.kind === 'Role' || o.kind === 'ClusterRole') {
      const id =
        o.kind === 'Role'
          ? `Role/${o.metadata.namespace}/${o.metadata.name}`
          : `ClusterRole/${o.metadata.name}`;
      return id === cr.role;
    }
    return true;
  });
  const narrowed = only.map((o) =>
    o.kind === 'Role' || o.kind === 'ClusterRole' ? { ...o, rules: [cr.rule] } : o,
  );
  return authorize(r, narrowed).allowed;
}
