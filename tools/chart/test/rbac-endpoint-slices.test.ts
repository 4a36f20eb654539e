// The chart's RBAC for endpoint slices (issue 20), held against the embedded API server's RBAC
// evaluator: the controller watches pods and writes both slice kinds; the agent reads them and may
// not write them.
import { authorize, type RbacObject, type RequestRecord } from '@egressgateway/apiserver';
import { describe, expect, it } from 'vitest';
import { render } from '../src/helm.js';

const NS = 'egressgateway';
const objects = render({ namespace: NS }).objects as unknown as RbacObject[];
const sa = (name: string) => `system:serviceaccount:${NS}:${name}`;
const allowed = (user: string, verb: string, apiGroup: string, resource: string, namespace?: string) => {
  const r: RequestRecord = {
    user,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
    verb,
    apiGroup,
    apiVersion: apiGroup === '' ? 'v1' : 'v1beta1',
    resource,
    ...(namespace ? { namespace } : {}),
    code: 200,
  };
  return authorize(r, objects).allowed;
};
const G = 'egressgateway.spidernet.io';

describe('chart RBAC for endpoint slices', () => {
  const controller = sa('egressgateway-controller');
  const agent = sa('egressgateway-agent');

  it('the service accounts are the ones the chart binds', () => {
    const subjects = objects
      .filter((o) => o.kind === 'ClusterRoleBinding')
      .flatMap((o) => (o.subjects ?? []).map((s) => `system:serviceaccount:${s.namespace}:${s.name}`));
    expect(subjects).toEqual(expect.arrayContaining([controller, agent]));
  });

  it.each(['list', 'watch', 'create', 'patch', 'delete'])(
    'the controller may %s both slice kinds',
    (verb) => {
      expect(allowed(controller, verb, G, 'egressendpointslices', 'team1')).toBe(true);
      expect(allowed(controller, verb, G, 'egressclusterendpointslices')).toBe(true);
    },
  );

  it('the controller may list and watch pods, not change them', () => {
    expect(allowed(controller, 'list', '', 'pods')).toBe(true);
    expect(allowed(controller, 'watch', '', 'pods')).toBe(true);
    expect(allowed(controller, 'patch', '', 'pods', 'team1')).toBe(false);
  });

  it('the agent may list and watch both slice kinds and its pods, and write none of them', () => {
    for (const verb of ['list', 'watch']) {
      expect(allowed(agent, verb, G, 'egressendpointslices')).toBe(true);
      expect(allowed(agent, verb, G, 'egressclusterendpointslices')).toBe(true);
      expect(allowed(agent, verb, '', 'pods')).toBe(true);
    }
    for (const verb of ['create', 'patch', 'delete']) {
      expect(allowed(agent, verb, G, 'egressendpointslices', 'team1')).toBe(false);
      expect(allowed(agent, verb, G, 'egressclusterendpointslices')).toBe(false);
    }
  });
});
