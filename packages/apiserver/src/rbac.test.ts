import { describe, expect, it } from 'vitest';
import type { RequestRecord } from './audit.js';
import { authorize, forbiddenMessage, type RbacObject, ruleAllows } from './rbac.js';

const SA = 'system:serviceaccount:egw:agent';
const req = (o: Partial<RequestRecord>): RequestRecord => ({
  user: SA,
  groups: [],
  verb: 'get',
  code: 200,
  ...o,
});

const objects: RbacObject[] = [
  {
    kind: 'ClusterRole',
    metadata: { name: 'agent' },
    rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['egressgateway.spidernet.io'], resources: ['egresstunnels/status'], verbs: ['patch'] },
    ],
  },
  {
    kind: 'ClusterRoleBinding',
    metadata: { name: 'agent' },
    roleRef: { kind: 'ClusterRole', name: 'agent' },
    subjects: [{ kind: 'ServiceAccount', name: 'agent', namespace: 'egw' }],
  },
  {
    kind: 'Role',
    metadata: { name: 'lease', namespace: 'egw' },
    rules: [
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['egressgateway'],
        verbs: ['get', 'update'],
      },
    ],
  },
  {
    kind: 'RoleBinding',
    metadata: { name: 'lease', namespace: 'egw' },
    roleRef: { kind: 'Role', name: 'lease' },
    subjects: [{ kind: 'ServiceAccount', name: 'agent' }],
  },
];

describe('RBAC authorizer', () => {
  it('allows what a bound rule names and says which binding, role and rule', () => {
    expect(authorize(req({ verb: 'watch', apiGroup: '', resource: 'pods' }), objects)).toEqual({
      allowed: true,
      by: { binding: 'ClusterRoleBinding/agent', role: 'ClusterRole/agent', rule: 0 },
    });
    const status = req({
      verb: 'patch',
      apiGroup: 'egressgateway.spidernet.io',
      resource: 'egresstunnels',
      subresource: 'status',
      name: 'n1',
    });
    expect(authorize(status, objects)).toMatchObject({ allowed: true, by: { rule: 1 } });
  });

  it('refuses another verb, the main resource for a subresource rule, another user', () => {
    expect(
      authorize(req({ verb: 'create', apiGroup: '', resource: 'pods', namespace: 'a' }), objects).allowed,
    ).toBe(false);
    expect(
      authorize(
        req({ verb: 'patch', apiGroup: 'egressgateway.spidernet.io', resource: 'egresstunnels', name: 'n1' }),
        objects,
      ).allowed,
    ).toBe(false);
    expect(
      authorize(
        req({ user: 'system:serviceaccount:other:agent', verb: 'list', apiGroup: '', resource: 'pods' }),
        objects,
      ).allowed,
    ).toBe(false);
  });

  it('a RoleBinding reaches only its namespace, and resourceNames only named requests', () => {
    const lease = { apiGroup: 'coordination.k8s.io', resource: 'leases', name: 'egressgateway' };
    expect(authorize(req({ ...lease, verb: 'get', namespace: 'egw' }), objects).allowed).toBe(true);
    expect(authorize(req({ ...lease, verb: 'get', namespace: 'kube-system' }), objects).allowed).toBe(false);
    expect(authorize(req({ ...lease, verb: 'get', namespace: 'egw', name: 'other' }), objects).allowed).toBe(
      false,
    );
    // A list has no name, so a rule with resourceNames does not cover it.
    expect(
      authorize(
        req({ apiGroup: 'coordination.k8s.io', resource: 'leases', verb: 'list', namespace: 'egw' }),
        objects,
      ).allowed,
    ).toBe(false);
  });

  it('system:masters may do anything; wildcards and non-resource URLs match as in Kubernetes', () => {
    expect(
      authorize(req({ groups: ['system:masters'], verb: 'delete', resource: 'nodes' }), []).allowed,
    ).toBe(true);
    expect(
      ruleAllows(
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        req({ resource: 'x', subresource: 'status' }),
      ),
    ).toBe(true);
    expect(
      ruleAllows(
        { apiGroups: [''], resources: ['*/status'], verbs: ['patch'] },
        req({ apiGroup: '', verb: 'patch', resource: 'pods', subresource: 'status' }),
      ),
    ).toBe(true);
    expect(ruleAllows({ nonResourceURLs: ['/apis/*'], verbs: ['get'] }, req({ path: '/apis/apps/v1' }))).toBe(
      true,
    );
    expect(ruleAllows({ nonResourceURLs: ['/api'], verbs: ['get'] }, req({ path: '/apis' }))).toBe(false);
  });

  it('has no "resource/*" form, and a rule on the main resource does not cover its subresources', () => {
    const status = req({ apiGroup: 'apps', verb: 'patch', resource: 'deployments', subresource: 'status' });
    expect(ruleAllows({ apiGroups: ['apps'], resources: ['deployments/*'], verbs: ['patch'] }, status)).toBe(
      false,
    );
    expect(ruleAllows({ apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] }, status)).toBe(
      false,
    );
    expect(ruleAllows({ apiGroups: ['apps'], resources: ['*/status'], verbs: ['patch'] }, status)).toBe(true);
    // `*/status` needs a subresource.
    expect(
      ruleAllows(
        { apiGroups: ['apps'], resources: ['*/status'], verbs: ['patch'] },
        req({ apiGroup: 'apps', verb: 'patch', resource: 'deployments' }),
      ),
    ).toBe(false);
  });

  it('words a refusal as kube-apiserver does', () => {
    expect(
      forbiddenMessage(
        req({
          verb: 'patch',
          apiGroup: 'apps',
          resource: 'deployments',
          subresource: 'status',
          name: 'c',
          namespace: 'egw',
        }),
      ),
    ).toBe(
      `deployments.apps "c" is forbidden: User "${SA}" cannot patch resource "deployments/status" in API group "apps" in the namespace "egw"`,
    );
    expect(forbiddenMessage(req({ verb: 'list', apiGroup: '', resource: 'nodes' }))).toBe(
      `nodes is forbidden: User "${SA}" cannot list resource "nodes" in API group "" at the cluster scope`,
    );
    expect(forbiddenMessage(req({ path: '/metrics' }))).toBe(
      `forbidden: User "${SA}" cannot get path "/metrics"`,
    );
    expect(forbiddenMessage(req({ verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'egw' }))).toBe(
      `secrets is forbidden: User "${SA}" cannot list resource "secrets" in API group "" in the namespace "egw"`,
    );
  });
});
