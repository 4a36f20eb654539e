import type { JsonObject } from './types.js';

/** A printer column as in a CRD's `additionalPrinterColumns`. */
export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** Everything the server needs to serve one resource in one group-version. */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, lower case: the URL segment. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  /** True when `/status` is a subresource (status and spec are written separately). */
  hasStatus: boolean;
  /** CRD-backed resources: the version's schema (structural OpenAPI v3). */
  schema?: JsonObject;
  /** CRD-backed resources: printer columns of this version. */
  printerColumns?: PrinterColumn[];
  /** Extra field selector labels besides `metadata.name` / `metadata.namespace`. */
  fieldLabels: string[];
  /** True for resources defined by a CustomResourceDefinition. */
  custom: boolean;
  /** Storage key, independent of version: `<group>/<resource>`. */
  storageKey: string;
}

/** The verbs every resource served here supports. */
export const RESOURCE_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

function builtin(
  group: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
  hasStatus: boolean,
  fieldLabels: string[] = [],
): ResourceInfo {
  return {
    group,
    version: 'v1',
    resource,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    shortNames,
    hasStatus,
    fieldLabels,
    custom: false,
    storageKey: `${group}/${resource}`,
  };
}

/** The built-in resources, in discovery order. */
export const BUILTIN_RESOURCES: readonly ResourceInfo[] = [
  builtin('', 'namespaces', 'Namespace', false, ['ns'], true, ['status.phase']),
  builtin('', 'nodes', 'Node', false, ['no'], true, ['spec.unschedulable']),
  builtin('', 'pods', 'Pod', true, ['po'], true, ['spec.nodeName', 'status.phase', 'spec.restartPolicy']),
  builtin('', 'events', 'Event', true, ['ev'], false, [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ]),
  builtin('', 'configmaps', 'ConfigMap', true, ['cm'], false),
  builtin('events.k8s.io', 'events', 'Event', true, ['ev'], false, [
    'reason',
    'type',
    'reportingController',
    'regarding.kind',
    'regarding.namespace',
    'regarding.name',
    'regarding.uid',
  ]),
  builtin('coordination.k8s.io', 'leases', 'Lease', true, [], false),
  // What a Helm chart creates (stored and served; no workload controllers run here).
  builtin('', 'serviceaccounts', 'ServiceAccount', true, ['sa'], false),
  builtin('', 'secrets', 'Secret', true, [], false, ['type']),
  builtin('', 'services', 'Service', true, ['svc'], true),
  builtin('apps', 'deployments', 'Deployment', true, ['deploy'], true),
  builtin('apps', 'daemonsets', 'DaemonSet', true, ['ds'], true),
  builtin('policy', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb'], true),
  builtin('rbac.authorization.k8s.io', 'roles', 'Role', true, [], false),
  builtin('rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true, [], false),
  builtin('rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false, [], false),
  builtin('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false, [], false),
  builtin(
    'admissionregistration.k8s.io',
    'validatingwebhookconfigurations',
    'ValidatingWebhookConfiguration',
    false,
    [],
    false,
  ),
  builtin(
    'admissionregistration.k8s.io',
    'mutatingwebhookconfigurations',
    'MutatingWebhookConfiguration',
    false,
    [],
    false,
  ),
  builtin(
    'apiextensions.k8s.io',
    'customresourcedefinitions',
    'CustomResourceDefinition',
    false,
    ['crd', 'crds'],
    true,
  ),
];

/** Namespaces that exist on a fresh server. */
export const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** `apiVersion` string of a group-version. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}
