import { stringify } from 'yaml';
import { API_GROUP, API_VERSION, type EgressKind, KINDS } from './constants.js';
import { SCHEMAS } from './schemas/index.js';

/** One `additionalPrinterColumns` entry. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date' | 'number';
  jsonPath: string;
  description: string;
}

const col = (name: string, jsonPath: string, type: PrinterColumn['type'] = 'string'): PrinterColumn => ({
  name,
  type,
  jsonPath,
  description: name,
});

/**
 * Printer columns as upstream declares them. `kubectl get egt` prints exactly
 * NAME TUNNELMAC TUNNELIPV4 TUNNELIPV6 MARK PHASE.
 */
export const PRINTER_COLUMNS: Readonly<Record<EgressKind, readonly PrinterColumn[]>> = {
  EgressGateway: [
    col('ipv4DefaultEIP', '.spec.ippools.ipv4DefaultEIP'),
    col('ipv6DefaultEIP', '.spec.ippools.ipv6DefaultEIP'),
    col('clusterDefault', '.spec.clusterDefault', 'boolean'),
    col('ipv4Total', '.status.ipUsage.ipv4Total', 'integer'),
    col('ipv4Free', '.status.ipUsage.ipv4Free', 'integer'),
    col('ipv6Total', '.status.ipUsage.ipv6Total', 'integer'),
    col('ipv6Free', '.status.ipUsage.ipv6Free', 'integer'),
  ],
  EgressTunnel: [
    col('tunnelMac', '.status.tunnel.mac'),
    col('tunnelIPv4', '.status.tunnel.ipv4'),
    col('tunnelIPv6', '.status.tunnel.ipv6'),
    col('mark', '.status.mark'),
    col('phase', '.status.phase'),
  ],
  EgressPolicy: [
    col('gateway', '.spec.egressGatewayName'),
    col('ipv4', '.status.eip.ipv4'),
    col('ipv6', '.status.eip.ipv6'),
    col('egressNode', '.status.node'),
  ],
  EgressClusterPolicy: [
    col('gateway', '.spec.egressGatewayName'),
    col('ipv4', '.status.eip.ipv4'),
    col('ipv6', '.status.eip.ipv6'),
    col('egressTunnel', '.status.node'),
  ],
  EgressClusterInfo: [],
  EgressEndpointSlice: [],
  EgressClusterEndpointSlice: [],
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Turns a TypeBox schema into a structural OpenAPI v3 schema as apiextensions.k8s.io/v1
 * requires: `additionalProperties: false` removed (Kubernetes prunes unknown fields instead;
 * `properties` and `additionalProperties` are exclusive there), maps as `additionalProperties`,
 * and `metadata` left to the API server.
 */
export function toStructuralSchema(schema: unknown): Json {
  const plain = JSON.parse(JSON.stringify(schema)) as Json;
  const walk = (node: Json, key?: string): Json => {
    if (Array.isArray(node)) return node.map((n) => walk(n));
    if (node === null || typeof node !== 'object') return node;
    if (key === 'metadata') return { type: 'object' };
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'additionalProperties' && typeof v === 'boolean') continue;
      if (k === 'patternProperties' && v && typeof v === 'object' && !Array.isArray(v)) {
        const only = Object.values(v)[0];
        if (only !== undefined) out.additionalProperties = walk(only);
        continue;
      }
      if (k === 'properties' && v && typeof v === 'object' && !Array.isArray(v)) {
        out.properties = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, walk(pv, pk)]));
        continue;
      }
      out[k] = walk(v);
    }
    return out;
  };
  return walk(plain);
}

/** An apiextensions.k8s.io/v1 CustomResourceDefinition as a plain object. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Cluster' | 'Namespaced';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Json };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns?: PrinterColumn[];
    }>;
  };
}

/**
 * The CustomResourceDefinition of one kind, generated from its schema: structural schema,
 * status subresource, scope, short name and printer columns.
 *
 * @example
 * const crd = customResourceDefinition('EgressTunnel');
 * crd.metadata.name; // 'egresstunnels.egressgateway.spidernet.io'
 */
export function customResourceDefinition(kind: EgressKind): CustomResourceDefinition {
  const info = KINDS[kind];
  const columns = PRINTER_COLUMNS[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
        // Upstream's: each kind's category is its singular name.
        categories: [info.singular],
      },
      scope: info.scope,
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: toStructuralSchema(SCHEMAS[kind]) },
          subresources: { status: {} },
          ...(columns.length > 0 ? { additionalPrinterColumns: columns.map((c) => ({ ...c })) } : {}),
        },
      ],
    },
  };
}

/** The CRDs of all seven kinds, in a stable order. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return (Object.keys(KINDS) as EgressKind[]).map(customResourceDefinition);
}

/** The manifest file text of one kind's CRD, as committed in `manifests/<plural>.yaml`. */
export function crdManifestYaml(kind: EgressKind): string {
  const header =
    '# Generated by @egressgateway/crds (npm run generate -w @egressgateway/crds). Do not edit.\n';
  return `${header}${stringify(customResourceDefinition(kind), { lineWidth: 0 })}`;
}
