// The two endpoint slice kinds as upstream v0.6.9 declares them (charts/crds/
// egressgateway.spidernet.io_egress{,cluster}endpointslices.yaml, pkg/k8s/apis/v1beta1): a
// top-level `endpoints` list (no spec, no status), short names egep/egcep, the policy-name label.
import { describe, expect, it } from 'vitest';
import {
  customResourceDefinition,
  DEFAULT_MAX_ENDPOINTS_PER_SLICE,
  POLICY_NAME_LABEL,
  validateResource,
} from '../src/index.js';

type Node = { [k: string]: any };

describe('EgressEndpointSlice and EgressClusterEndpointSlice CRDs', () => {
  it.each([
    ['EgressEndpointSlice', 'egressendpointslices', 'egep', 'Namespaced'],
    ['EgressClusterEndpointSlice', 'egressclusterendpointslices', 'egcep', 'Cluster'],
  ] as const)(
    '%s: plural %s, short name %s, scope %s, endpoints at the top level',
    (kind, plural, short, scope) => {
      const crd = customResourceDefinition(kind);
      expect(crd.metadata.name).toBe(`${plural}.egressgateway.spidernet.io`);
      expect(crd.spec.names.shortNames).toEqual([short]);
      expect(crd.spec.names.listKind).toBe(`${kind}List`);
      expect(crd.spec.scope).toBe(scope);
      const schema = crd.spec.versions[0]?.schema.openAPIV3Schema as Node;
      expect(Object.keys(schema.properties).sort()).toEqual(['apiVersion', 'endpoints', 'kind', 'metadata']);
      const ep = schema.properties.endpoints.items as Node;
      expect(Object.keys(ep.properties).sort()).toEqual(['ipv4', 'ipv6', 'node', 'ns', 'pod']);
      expect(ep.properties.ipv4).toMatchObject({ type: 'array', items: { type: 'string' } });
      expect(ep.required).toBeUndefined();
    },
  );

  it("upstream's defaults: label spidernet.io/policy-name, 100 endpoints per slice", () => {
    expect(POLICY_NAME_LABEL).toBe('spidernet.io/policy-name');
    expect(DEFAULT_MAX_ENDPOINTS_PER_SLICE).toBe(100);
  });
});

describe('validateResource on endpoint slices', () => {
  const upstreamExample = {
    apiVersion: 'egressgateway.spidernet.io/v1beta1',
    kind: 'EgressEndpointSlice',
    metadata: {
      name: 'ns-policy-zp667',
      namespace: 'ns1',
      labels: { 'spidernet.io/policy-name': 'ns-policy' },
      ownerReferences: [
        {
          apiVersion: 'egressgateway.spidernet.io/v1beta1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'EgressPolicy',
          name: 'ns-policy',
          uid: 'fdca1dd5-9c3b-4d58-b043-451e10f15ea8',
        },
      ],
    },
    endpoints: [
      {
        ipv4: ['198.18.60.74'],
        ipv6: ['fd00:21::5328:9c2:3579:8cca'],
        node: 'workstation3',
        ns: 'ns1',
        pod: 'app-1',
      },
    ],
  };

  it("accepts upstream's documented example (addresses moved into our test ranges)", () => {
    expect(validateResource(upstreamExample)).toMatchObject({ ok: true });
    const cluster = { ...upstreamExample, kind: 'EgressClusterEndpointSlice', metadata: { name: 'c-1' } };
    expect(validateResource(cluster)).toMatchObject({ ok: true });
  });

  it('names the field of an address of the wrong family', () => {
    const bad = { ...upstreamExample, endpoints: [{ ipv4: ['198.18.0.1', 'fd00::1'] }] };
    const r = validateResource(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(['endpoints[0].ipv4[1]']);
  });

  it('refuses an unknown endpoint field and a namespace on the cluster-scoped kind', () => {
    const unknown = validateResource({ ...upstreamExample, endpoints: [{ podName: 'x' }] });
    expect(unknown.ok).toBe(false);
    const namespaced = validateResource({
      ...upstreamExample,
      kind: 'EgressClusterEndpointSlice',
    });
    expect(namespaced.ok).toBe(false);
    if (!namespaced.ok) expect(namespaced.errors.map((e) => e.path)).toContain('metadata.namespace');
  });
});
