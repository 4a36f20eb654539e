import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { EgressKind } from '../src/index.js';
import { apiReferenceMarkdown, crdManifestYaml, customResourceDefinition, KINDS } from '../src/index.js';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');
const STALE = 'stale generated file: run `npm run generate -w @egressgateway/crds` and commit the result';

describe('generated files are up to date', () => {
  for (const kind of Object.keys(KINDS) as EgressKind[]) {
    it(`manifests/${KINDS[kind].plural}.yaml`, () => {
      expect(read(`../manifests/${KINDS[kind].plural}.yaml`), STALE).toBe(crdManifestYaml(kind));
    });
  }
  it('docs/api.md', () => {
    expect(read('../../../docs/api.md'), STALE).toBe(apiReferenceMarkdown());
  });
});

describe('CRDs', () => {
  it('EgressTunnel prints exactly the seed columns after NAME', () => {
    const crd = parse(read('../manifests/egresstunnels.yaml'));
    const names = crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) =>
      c.name.toUpperCase(),
    );
    expect(['NAME', ...names].join(' ')).toBe('NAME TUNNELMAC TUNNELIPV4 TUNNELIPV6 MARK PHASE');
  });

  it('declare scope, short names and the status subresource as upstream', () => {
    const expected: Record<EgressKind, [string, string]> = {
      EgressGateway: ['Cluster', 'egw'],
      EgressTunnel: ['Cluster', 'egt'],
      EgressPolicy: ['Namespaced', 'egp'],
      EgressClusterPolicy: ['Cluster', 'egcp'],
      EgressClusterInfo: ['Cluster', 'egci'],
      EgressEndpointSlice: ['Namespaced', 'egep'],
      EgressClusterEndpointSlice: ['Cluster', 'egcep'],
    };
    for (const [kind, [scope, short]] of Object.entries(expected)) {
      const crd = customResourceDefinition(kind as EgressKind);
      expect(crd.spec.scope).toBe(scope);
      expect(crd.spec.names.shortNames).toEqual([short]);
      expect(crd.spec.versions[0]?.subresources).toEqual({ status: {} });
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.egressgateway.spidernet.io`);
    }
  });

  it('have structural schemas: no additionalProperties beside properties, maps as additionalProperties', () => {
    const walk = (node: unknown, path: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if ('properties' in n) expect(n.additionalProperties, path).toBeUndefined();
      expect(n.patternProperties, path).toBeUndefined();
      if (n.properties) for (const [k, v] of Object.entries(n.properties)) walk(v, `${path}.${k}`);
      if (n.items) walk(n.items, `${path}[]`);
      if (n.additionalProperties) walk(n.additionalProperties, `${path}{}`);
      if (path !== '') expect(typeof n.type, `${path} has a type`).toBe('string');
    };
    for (const kind of Object.keys(KINDS) as EgressKind[]) {
      walk(customResourceDefinition(kind).spec.versions[0]?.schema.openAPIV3Schema, '');
    }
    const gw = customResourceDefinition('EgressGateway').spec.versions[0]?.schema.openAPIV3Schema as any;
    expect(gw.properties.spec.properties.nodeSelector.properties.selector.properties.matchLabels).toEqual({
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Labels that must all be present with these values.',
    });
  });
});
