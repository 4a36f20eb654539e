// The CRD details upstream v0.6.9 declares in charts/crds/*.yaml (see UPSTREAM-COMPAT §1): a
// category per kind, object defaults, and atomic selectors so server-side apply replaces a
// selector whole instead of merging it key by key.
import { describe, expect, it } from 'vitest';
import type { EgressKind } from './constants.js';
import { customResourceDefinition } from './crd.js';

type Node = { [k: string]: unknown };
const schemaOf = (kind: EgressKind) =>
  customResourceDefinition(kind).spec.versions[0]?.schema.openAPIV3Schema as Node;
const at = (node: Node, ...path: string[]): Node => {
  let cur: Node = node;
  for (const p of path) cur = (p === '[]' ? cur.items : (cur.properties as Node)[p]) as Node;
  return cur;
};

describe('generated CRDs carry upstream schema details', () => {
  it.each([
    ['EgressGateway', 'egressgateway'],
    ['EgressTunnel', 'egresstunnel'],
    ['EgressPolicy', 'egresspolicy'],
    ['EgressClusterPolicy', 'egressclusterpolicy'],
    ['EgressClusterInfo', 'egressclusterinfo'],
    ['EgressEndpointSlice', 'egressendpointslice'],
    ['EgressClusterEndpointSlice', 'egressclusterendpointslice'],
  ] as const)('%s has category %s (upstream names.categories)', (kind, category) => {
    expect(customResourceDefinition(kind).spec.names.categories).toEqual([category]);
  });

  it.each([
    ['EgressGateway', ['spec', 'nodeSelector', 'selector']],
    ['EgressPolicy', ['spec', 'appliedTo', 'podSelector']],
    ['EgressClusterPolicy', ['spec', 'appliedTo', 'podSelector']],
    ['EgressClusterPolicy', ['spec', 'appliedTo', 'namespaceSelector']],
  ] as const)('%s %j is an atomic map, its matchExpressions and values atomic lists', (kind, path) => {
    const sel = at(schemaOf(kind), ...path);
    expect(sel['x-kubernetes-map-type']).toBe('atomic');
    expect(at(sel, 'matchExpressions')['x-kubernetes-list-type']).toBe('atomic');
    expect(at(sel, 'matchExpressions', '[]', 'values')['x-kubernetes-list-type']).toBe('atomic');
  });

  it.each(['EgressPolicy', 'EgressClusterPolicy'] as const)(
    '%s spec.egressIP defaults to {allocatorPolicy: default, useNodeIP: false}',
    (kind) => {
      expect(at(schemaOf(kind), 'spec', 'egressIP').default).toEqual({
        allocatorPolicy: 'default',
        useNodeIP: false,
      });
    },
  );

  it('EgressClusterInfo spec.autoDetect defaults: podCidrMode auto, clusterIP and nodeIP true', () => {
    const auto = at(schemaOf('EgressClusterInfo'), 'spec', 'autoDetect');
    expect(at(auto, 'podCidrMode').default).toBe('auto');
    expect(at(auto, 'clusterIP').default).toBe(true);
    expect(at(auto, 'nodeIP').default).toBe(true);
  });
});
