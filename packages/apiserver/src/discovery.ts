import type { Registry, ServedGroup } from './registry.js';
import { apiVersionOf, RESOURCE_VERBS, type ResourceInfo } from './resources.js';
import type { JsonObject, JsonValue } from './types.js';

/** The Kubernetes version this server reports (the API surface follows v1.32). */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-egw',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-25T00:00:00Z',
  goVersion: 'go1.23.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const STATUS_VERBS = ['get', 'patch', 'update'];

function kindRef(info: ResourceInfo): JsonObject {
  // Built-ins answer with empty group/version in responseKind, as the real server does.
  return info.custom
    ? { group: info.group, version: info.version, kind: info.kind }
    : { group: '', version: '', kind: info.kind };
}

function aggregatedResource(info: ResourceInfo): JsonObject {
  const r: JsonObject = {
    resource: info.resource,
    responseKind: kindRef(info),
    scope: info.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: info.singular,
    verbs: RESOURCE_VERBS,
  };
  if (info.shortNames.length > 0) r.shortNames = info.shortNames;
  if (info.hasStatus)
    r.subresources = [{ subresource: 'status', responseKind: kindRef(info), verbs: STATUS_VERBS }];
  return r;
}

function aggregatedGroup(g: ServedGroup): JsonObject {
  const metadata: JsonObject =
    g.group === '' ? { creationTimestamp: null } : { name: g.group, creationTimestamp: null };
  return {
    metadata,
    versions: g.versions.map((v) => ({
      version: v.version,
      resources: v.resources.map(aggregatedResource),
      freshness: 'Current',
    })),
  };
}

/** `APIGroupDiscoveryList` (apidiscovery.k8s.io/v2 or v2beta1) for `/api` (`core: true`) or `/apis`. */
export function aggregatedDiscovery(reg: Registry, core: boolean, apiVersion: string): JsonObject {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion,
    metadata: {},
    items: reg
      .groups()
      .filter((g) => (g.group === '') === core)
      .map(aggregatedGroup),
  };
}

/** Legacy `/api`. */
export function legacyApiVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function legacyGroup(g: ServedGroup): JsonObject {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v.version}`, version: v.version }));
  return { name: g.group, versions, preferredVersion: versions[0] as JsonValue };
}

/** Legacy `/apis`. */
export function legacyApiGroupList(reg: Registry): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: reg
      .groups()
      .filter((g) => g.group !== '')
      .map(legacyGroup),
  };
}

/** Legacy `/apis/<group>`; undefined when the group is not served. */
export function legacyApiGroup(reg: Registry, group: string): JsonObject | undefined {
  const g = reg.groups().find((x) => x.group === group && group !== '');
  return g === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...legacyGroup(g) };
}

/** Legacy `/api/v1` or `/apis/<group>/<version>` resource list; undefined when not served. */
export function legacyResourceList(reg: Registry, group: string, version: string): JsonObject | undefined {
  const g = reg.groups().find((x) => x.group === group);
  const v = g?.versions.find((x) => x.version === version);
  if (v === undefined) return undefined;
  const resources: JsonValue[] = [];
  for (const info of v.resources) {
    const r: JsonObject = {
      name: info.resource,
      singularName: info.singular,
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: RESOURCE_VERBS,
    };
    if (info.shortNames.length > 0) r.shortNames = info.shortNames;
    resources.push(r);
    if (info.hasStatus) {
      resources.push({
        name: `${info.resource}/status`,
        singularName: '',
        namespaced: info.namespaced,
        kind: info.kind,
        verbs: STATUS_VERBS,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources };
}

/** `/openapi/v3` root: one entry per served group-version (with a generation hash so caches refresh). */
export function openApiRoot(reg: Registry): JsonObject {
  const paths: JsonObject = {};
  for (const g of reg.groups()) {
    for (const v of g.versions) {
      const p = g.group === '' ? `api/${v.version}` : `apis/${g.group}/${v.version}`;
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${gvHash(reg, g.group, v.version)}` };
    }
  }
  return { paths };
}

/** A hash of a group-version document: changes when any of its resources changes. */
export function gvHash(reg: Registry, group: string, version: string): string {
  const doc = JSON.stringify(openApiGroupVersion(reg, group, version) ?? {});
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < doc.length; i++) {
    const c = doc.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619) >>> 0;
    h2 = Math.imul(h2 ^ c, 2246822519) >>> 0;
  }
  return (h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).toUpperCase();
}

/**
 * `/openapi/v3/<gv>`: for every resource a PATCH operation carrying
 * `x-kubernetes-group-version-kind` and a `fieldValidation` parameter. That is what kubectl's
 * default (strict, server-side) validation looks for.
 */
export function openApiGroupVersion(reg: Registry, group: string, version: string): JsonObject | undefined {
  const g = reg.groups().find((x) => x.group === group);
  const v = g?.versions.find((x) => x.version === version);
  if (v === undefined) return undefined;
  const paths: JsonObject = {};
  const prefix = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  for (const info of v.resources) {
    // No schemas and no strategic-merge-patch entry on purpose: with them kubectl 1.32 would build
    // patches from this document; without them it uses JSON merge patch for custom resources and its
    // compiled-in types (strategic merge patch) for built-ins, exactly as against a real server.
    const ref = { type: 'object' };
    const contents: JsonObject = {
      'application/json-patch+json': { schema: { type: 'object' } },
      'application/merge-patch+json': { schema: { type: 'object' } },
    };
    const gvk = { group, version, kind: info.kind };
    const op = (action: string, params: string[], extra: JsonObject = {}): JsonObject => ({
      operationId: `${action}${info.kind}`,
      parameters: params.map((n) => ({ name: n, in: 'query', schema: { type: 'string' } })),
      responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      ...extra,
    });
    const writeParams = ['dryRun', 'fieldManager', 'fieldValidation'];
    const item = info.namespaced
      ? `${prefix}/namespaces/{namespace}/${info.resource}/{name}`
      : `${prefix}/${info.resource}/{name}`;
    const coll = info.namespaced
      ? `${prefix}/namespaces/{namespace}/${info.resource}`
      : `${prefix}/${info.resource}`;
    paths[item] = {
      get: op('get', []),
      put: op('put', writeParams, { requestBody: { content: { 'application/json': { schema: ref } } } }),
      patch: op('patch', [...writeParams, 'force'], { requestBody: { content: contents } }),
      delete: op('delete', ['dryRun']),
    };
    paths[coll] = {
      get: op('list', ['labelSelector', 'fieldSelector', 'limit', 'continue', 'watch', 'resourceVersion']),
      post: op('post', writeParams, { requestBody: { content: { 'application/json': { schema: ref } } } }),
    };
    if (info.hasStatus) {
      paths[`${item}/status`] = {
        get: op('get', []),
        put: op('put', writeParams, { requestBody: { content: { 'application/json': { schema: ref } } } }),
        patch: op('patch', [...writeParams, 'force'], { requestBody: { content: contents } }),
      };
    }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}
