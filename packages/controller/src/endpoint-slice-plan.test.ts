import type { EgressEndpoint } from '@egressgateway/crds';
import { describe, expect, it } from 'vitest';
import { planSlices, type Slice, sliceName } from './endpoint-slice-plan.js';

const ep = (i: number, node = 'n1'): EgressEndpoint => ({
  ns: 'ns',
  pod: `pod-${i}`,
  node,
  ipv4: [`198.18.0.${i}`],
});
const owner = { kind: 'EgressPolicy' as const, name: 'web', namespace: 'ns', uid: 'uid-1' };

describe('planSlices', () => {
  it('splits at the limit into <policy>-<n> slices, labelled and owned by the policy', () => {
    const plan = planSlices({
      owner,
      gateway: 'egw1',
      endpoints: [ep(3), ep(1), ep(2)],
      existing: [],
      maxPerSlice: 2,
      nameTaken: () => false,
    });
    expect(plan.update).toEqual([]);
    expect(plan.create.map((w) => [w.name, w.slice.endpoints?.map((e) => e.pod)])).toEqual([
      ['web-0', ['pod-1', 'pod-2']],
      ['web-1', ['pod-3']],
    ]);
    expect(plan.create[0]?.slice).toMatchObject({
      apiVersion: 'egressgateway.spidernet.io/v1beta1',
      kind: 'EgressEndpointSlice',
      metadata: {
        name: 'web-0',
        namespace: 'ns',
        labels: { 'spidernet.io/policy-name': 'web', 'egressgateway.spidernet.io/gateway': 'egw1' },
        ownerReferences: [
          {
            apiVersion: 'egressgateway.spidernet.io/v1beta1',
            kind: 'EgressPolicy',
            name: 'web',
            uid: 'uid-1',
            controller: true,
          },
        ],
      },
    });
  });

  it('cluster policies get cluster slices without a namespace', () => {
    const plan = planSlices({
      owner: { kind: 'EgressClusterPolicy', name: 'all', uid: 'u' },
      gateway: undefined,
      endpoints: [ep(1)],
      existing: [],
      maxPerSlice: 100,
      nameTaken: () => false,
    });
    expect(plan.create[0]?.slice.kind).toBe('EgressClusterEndpointSlice');
    expect(plan.create[0]?.slice.metadata?.namespace).toBeUndefined();
    expect(plan.create[0]?.slice.metadata?.labels).toEqual({ 'spidernet.io/policy-name': 'all' });
  });

  it('skips names other slices of the namespace use', () => {
    const plan = planSlices({
      owner,
      gateway: 'g',
      endpoints: [ep(1)],
      existing: [],
      maxPerSlice: 100,
      nameTaken: (n) => n === 'web-0',
    });
    expect(plan.create.map((w) => w.name)).toEqual(['web-1']);
  });

  it('relabels a slice whose gateway changed, with the resourceVersion it read', () => {
    const existing: Slice = {
      metadata: {
        name: 'web-0',
        namespace: 'ns',
        resourceVersion: '7',
        labels: { 'spidernet.io/policy-name': 'web', 'egressgateway.spidernet.io/gateway': 'old' },
        ownerReferences: [
          {
            apiVersion: 'egressgateway.spidernet.io/v1beta1',
            kind: 'EgressPolicy',
            name: 'web',
            uid: 'uid-1',
            controller: true,
          },
        ],
      },
      endpoints: [ep(1)],
    };
    const plan = planSlices({
      owner,
      gateway: 'new',
      endpoints: [ep(1)],
      existing: [existing],
      maxPerSlice: 100,
      nameTaken: () => false,
    });
    expect(plan.update).toHaveLength(1);
    expect(plan.update[0]?.slice.metadata?.resourceVersion).toBe('7');
    expect(plan.update[0]?.slice.metadata?.labels?.['egressgateway.spidernet.io/gateway']).toBe('new');
  });

  it('deletes every slice of a policy that is gone', () => {
    const existing: Slice[] = [{ metadata: { name: 'web-0', resourceVersion: '3' }, endpoints: [ep(1)] }];
    const plan = planSlices({
      owner: undefined,
      gateway: undefined,
      endpoints: [],
      existing,
      maxPerSlice: 100,
      nameTaken: () => false,
    });
    expect(plan.delete).toEqual([{ name: 'web-0', resourceVersion: '3' }]);
  });

  it('cuts long policy names to a valid length', () => {
    const name = sliceName('a'.repeat(260), 12);
    expect(name.length).toBe(253);
    expect(name.endsWith('a-12')).toBe(true);
  });
});
