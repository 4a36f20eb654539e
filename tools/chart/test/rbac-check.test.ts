import type { RequestRecord } from '@egressgateway/apiserver';
import { describe, expect, it } from 'vitest';
import { render } from '../src/helm.js';
import { chartRbac, checkRbac } from '../src/rbac-check.js';

const AGENT = 'system:serviceaccount:egressgateway:egressgateway-agent';
const CONTROLLER = 'system:serviceaccount:egressgateway:egressgateway-controller';
const rec = (user: string, o: Partial<RequestRecord>): RequestRecord => ({
  user,
  groups: [],
  verb: 'get',
  code: 200,
  ...o,
});
const EGW = 'egressgateway.spidernet.io';

describe('checkRbac against the rendered chart', () => {
  const rendered = render().text;

  it('finds every Role and ClusterRole rule of the chart, with its rbac: justification when it has one', () => {
    const { rules, objects } = chartRbac(rendered);
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRole',
      'ClusterRoleBinding',
      'ClusterRoleBinding',
      'Role',
      'Role',
      'RoleBinding',
      'RoleBinding',
    ]);
    expect(rules.length).toBeGreaterThan(8);
    expect(rules.map((r) => r.role)).toContain('Role/egressgateway/egressgateway-controller-leader-election');
  });

  it('refuses what the chart does not grant and names rules no request used', () => {
    const records = [
      rec(AGENT, { verb: 'list', apiGroup: '', resource: 'pods' }),
      rec(AGENT, {
        verb: 'patch',
        apiGroup: EGW,
        resource: 'egresstunnels',
        subresource: 'status',
        name: 'n1',
      }),
      // not granted: an agent reading Secrets, a controller deleting a gateway
      rec(AGENT, { verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'egressgateway' }),
      rec(CONTROLLER, { verb: 'delete', apiGroup: EGW, resource: 'egressgateways', name: 'g' }),
      // someone else's requests are not the chart's business
      rec('admin', { verb: 'delete', apiGroup: '', resource: 'nodes', name: 'x' }),
    ];
    const r = checkRbac(rendered, records, [AGENT, CONTROLLER]);
    expect(r.denied.map((d) => `${d.verb} ${d.resource}`)).toEqual(['list secrets', 'delete egressgateways']);
    expect(r.uses.get('ClusterRole/egressgateway-agent#0')).toBe(1);
    // Most rules are unused by these few requests.
    expect(r.unused.length + r.justified.length).toBeGreaterThan(5);
    expect(r.unused.some((u) => u.role === 'ClusterRole/egressgateway-controller')).toBe(true);
  });
});

describe('checkRbac on synthetic manifests', () => {
  const SA = 'system:serviceaccount:ns1:app';
  const rendered = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: app, namespace: ns1 }
rules:
  # Leader election (election/lease-lock.ts).
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, update]
  # rbac: kept for kubectl debug sessions that no scenario records
  - apiGroups: [""]
    resources: [pods]
    verbs: [get]
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: app, namespace: ns1 }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: app }
subjects: [{ kind: ServiceAccount, name: app, namespace: ns1 }]
`;

  it('a Role reaches only its namespace; a commented rule is justified, a bare one is unused', () => {
    const lease = { verb: 'update', apiGroup: 'coordination.k8s.io', resource: 'leases', name: 'l' };
    const r = checkRbac(
      rendered,
      [
        rec(SA, { ...lease, namespace: 'ns1' }),
        rec(SA, { ...lease, namespace: 'other' }),
        // Discovery is not the chart's business.
        rec(SA, { verb: 'get', path: '/apis' }),
      ],
      [SA],
    );
    expect(r.denied.map((d) => d.namespace)).toEqual(['other']);
    expect(r.uses.get('Role/ns1/app#0')).toBe(1);
    expect(r.justified.map((j) => [j.index, j.justification])).toEqual([
      [1, 'kept for kubectl debug sessions that no scenario records'],
    ]);
    expect(r.unused.map((u) => u.index)).toEqual([2]);
  });
});
