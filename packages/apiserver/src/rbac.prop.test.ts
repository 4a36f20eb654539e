import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestRecord } from './audit.js';
import { authorize, type PolicyRule, type RbacObject, ruleAllows } from './rbac.js';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const GROUPS = ['', 'apps', 'coordination.k8s.io'];
const RESOURCES = ['pods', 'leases', 'deployments', 'pods/status', 'deployments/status'];
const NAMES = ['a', 'b'];
const NAMESPACES = ['ns1', 'ns2'];
const USER = 'system:serviceaccount:ns1:sa';

const sub = <T>(xs: T[]) => fc.subarray(xs, { minLength: 1 });
/** A rule without wildcards, so the combinations it allows can be listed. */
const ruleArb: fc.Arbitrary<PolicyRule> = fc.record({
  verbs: sub(VERBS),
  apiGroups: sub(GROUPS),
  resources: sub(RESOURCES),
  resourceNames: fc.subarray(NAMES),
});
/** Rules in a Role bound in one namespace, or in a ClusterRole bound cluster-wide. */
const grantArb = fc.record({
  rules: fc.array(ruleArb, { maxLength: 3 }),
  namespace: fc.option(fc.constantFrom(...NAMESPACES), { nil: undefined }),
});
const requestArb: fc.Arbitrary<RequestRecord> = fc
  .record({
    verb: fc.constantFrom(...VERBS),
    apiGroup: fc.constantFrom(...GROUPS),
    resource: fc.constantFrom(...RESOURCES),
    name: fc.option(fc.constantFrom(...NAMES, 'c'), { nil: undefined }),
    namespace: fc.option(fc.constantFrom(...NAMESPACES), { nil: undefined }),
  })
  .map(({ resource, name, namespace, ...rest }) => {
    const [res = '', subres] = resource.split('/');
    return {
      user: USER,
      groups: ['system:authenticated'],
      code: 200,
      ...rest,
      resource: res,
      ...(subres !== undefined ? { subresource: subres } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(namespace !== undefined ? { namespace } : {}),
    };
  });

function objectsOf(grants: { rules: PolicyRule[]; namespace: string | undefined }[]): RbacObject[] {
  return grants.flatMap((g, i) => {
    const subjects = [{ kind: 'ServiceAccount', name: 'sa', namespace: 'ns1' }];
    if (g.namespace === undefined)
      return [
        { kind: 'ClusterRole', metadata: { name: `r${i}` }, rules: g.rules },
        {
          kind: 'ClusterRoleBinding',
          metadata: { name: `b${i}` },
          roleRef: { kind: 'ClusterRole', name: `r${i}` },
          subjects,
        },
      ];
    return [
      { kind: 'Role', metadata: { name: `r${i}`, namespace: g.namespace }, rules: g.rules },
      {
        kind: 'RoleBinding',
        metadata: { name: `b${i}`, namespace: g.namespace },
        roleRef: { kind: 'Role', name: `r${i}` },
        subjects,
      },
    ];
  });
}

/** The model: the listed combinations, spelled out. */
function listedAllows(
  grants: { rules: PolicyRule[]; namespace: string | undefined }[],
  r: RequestRecord,
): boolean {
  const full = r.subresource !== undefined ? `${r.resource}/${r.subresource}` : (r.resource ?? '');
  return grants.some(
    (g) =>
      (g.namespace === undefined || g.namespace === r.namespace) &&
      g.rules.some(
        (rule) =>
          rule.verbs?.includes(r.verb) &&
          rule.apiGroups?.includes(r.apiGroup ?? '') &&
          rule.resources?.includes(full) &&
          ((rule.resourceNames ?? []).length === 0 ||
            (r.name !== undefined && rule.resourceNames?.includes(r.name))),
      ),
  );
}

describe('RBAC authorizer properties', () => {
  it('a rule set allows exactly the listed combinations of verb, group, resource, name and namespace', () => {
    fc.assert(
      fc.property(
        fc.array(grantArb, { maxLength: 4 }),
        fc.array(requestArb, { minLength: 1, maxLength: 20 }),
        (grants, reqs) => {
          const objects = objectsOf(grants);
          for (const r of reqs) expect(authorize(r, objects).allowed).toBe(listedAllows(grants, r));
        },
      ),
      { seed: 16, numRuns: 400 },
    );
  });

  it('the grant it names allows the request on its own', () => {
    fc.assert(
      fc.property(fc.array(grantArb, { maxLength: 4 }), requestArb, (grants, r) => {
        const objects = objectsOf(grants);
        const d = authorize(r, objects);
        if (!d.allowed) return;
        const roleName = d.by.role?.split('/').at(-1);
        const role = objects.find((o) => o.metadata.name === roleName && o.rules !== undefined);
        expect(role).toBeDefined();
        expect(ruleAllows(role?.rules?.[d.by.rule ?? -1] ?? {}, r)).toBe(true);
      }),
      { seed: 16, numRuns: 400 },
    );
  });

  it('another user, or the same service account name in another namespace, is never allowed', () => {
    fc.assert(
      fc.property(
        fc.array(grantArb, { maxLength: 4 }),
        requestArb,
        fc.constantFrom('system:serviceaccount:ns2:sa', 'sa', 'alice'),
        (grants, r, user) => {
          expect(authorize({ ...r, user }, objectsOf(grants)).allowed).toBe(false);
        },
      ),
      { seed: 16, numRuns: 200 },
    );
  });

  it('widening a rule with "*" never takes away an allowed request', () => {
    fc.assert(
      fc.property(
        fc.array(grantArb, { minLength: 1, maxLength: 3 }),
        requestArb,
        fc.constantFrom('verbs', 'apiGroups', 'resources'),
        (grants, r, field) => {
          const before = authorize(r, objectsOf(grants)).allowed;
          const wide = grants.map((g) => ({
            ...g,
            rules: g.rules.map((rule) => ({ ...rule, [field]: ['*'] })),
          }));
          if (before) expect(authorize(r, objectsOf(wide)).allowed).toBe(true);
        },
      ),
      { seed: 16, numRuns: 300 },
    );
  });
});
