import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { applyBuiltinDefaults } from './builtin-defaults.js';
import { checkJsonDepth, checkYamlDepth } from './decode-limits.js';
import { ApiError, type ErrorTarget } from './errors.js';
import { duplicateJsonKeys, pruneTypedFields, reportFieldProblems } from './field-validation.js';
import { decodeContinue, encodeContinue, listKey, matchesSelectors } from './list-page.js';
import {
  checkTypeMeta,
  crdStatus,
  generateSuffix,
  initialStatus,
  jsonEqual,
  requireObject,
  specPart,
  stripManaged,
  timestamp,
  validateMeta,
} from './object-rules.js';
import { jsonPatch, mergePatch, PATCH_TYPES, strategicMergePatch } from './patch.js';
import { type Registry, type ServedResource, validateCrd } from './registry.js';
import { apiVersionOf, DEFAULT_NAMESPACES, type ResourceInfo } from './resources.js';
import { errorsToCauses, pruneAndDefault } from './schema.js';
import type { FieldRequirement, LabelRequirement } from './selectors.js';
import type { Storage } from './storage.js';
import { isJsonObject, type JsonObject, type JsonValue, type KubeObject } from './types.js';

/** Which resource (and object) a request is about. */
export interface Scope {
  served: ServedResource;
  /** Namespace from the URL; `''` for cluster-scoped resources or an all-namespaces list. */
  namespace: string;
  name?: string;
  subresource?: 'status';
}

/** Per-write options from the query string. */
export interface WriteOptions {
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  dryRun: boolean;
  /** Warnings collected for the `Warning` response header. */
  warnings: string[];
  /** Keys the request's JSON body had twice (`duplicateJsonKeys`), reported per `fieldValidation`. */
  duplicateFields?: readonly string[];
}

/** List filters. */
export interface ListOptions {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  limit?: number;
  continueToken?: string;
}

/** A list result before rendering. */
export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continueToken: string;
  remaining?: number;
}

/** Source of time and randomness, injected so tests are deterministic. */
export interface CoreEnv {
  now: () => number;
  random: () => number;
  uid: () => string;
}

const CRD_KEY = 'apiextensions.k8s.io/customresourcedefinitions';
const NS_KEY = '/namespaces';

function target(info: ResourceInfo, name: string): ErrorTarget {
  return { group: info.group, resource: info.resource, name };
}

/**
 * The verbs of the API (create, get, list, update, patch, delete, deletecollection) over a
 * {@link Storage}: Kubernetes object semantics with no HTTP in sight. Throws {@link ApiError}.
 */
export class ApiCore {
  readonly env: CoreEnv;

  constructor(
    readonly storage: Storage,
    readonly registry: Registry,
    env: Partial<CoreEnv> = {},
  ) {
    this.env = { now: env.now ?? Date.now, random: env.random ?? Math.random, uid: env.uid ?? randomUUID };
  }

  /** Serves the CRDs found in storage and creates the default namespaces when missing. */
  bootstrap(): void {
    for (const crd of this.storage.list(CRD_KEY)) this.registry.setCrd(crd);
    for (const ns of DEFAULT_NAMESPACES) {
      if (this.storage.get(NS_KEY, '', ns) !== undefined) continue;
      this.storage.put(
        NS_KEY,
        {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: {
            name: ns,
            uid: this.env.uid(),
            creationTimestamp: timestamp(this.env.now()),
            labels: { 'kubernetes.io/metadata.name': ns },
          },
          spec: { finalizers: ['kubernetes'] },
          status: { phase: 'Active' },
        },
        'ADDED',
      );
    }
  }

  /** Renders a stored object in the requested version. */
  /** Renders a stored object in the requested version (same object when nothing changes). */
  present(info: ResourceInfo, o: KubeObject): KubeObject {
    const apiVersion = apiVersionOf(info.group, info.version);
    return o.apiVersion === apiVersion && o.kind === info.kind ? o : { ...o, apiVersion, kind: info.kind };
  }

  /** One object; 404 NotFound when missing. */
  get(scope: Scope): KubeObject {
    const info = scope.served.info;
    const o = this.storage.get(info.storageKey, scope.namespace, scope.name ?? '');
    if (o === undefined) throw ApiError.notFound(target(info, scope.name ?? ''));
    return this.present(info, o);
  }

  /** A page of objects matching the selectors, sorted by namespace/name, at the latest resourceVersion. */
  list(scope: Scope, opts: ListOptions): ListResult {
    const info = scope.served.info;
    const rv = String(this.storage.currentRv());
    let all = this.storage.list(
      info.storageKey,
      info.namespaced && scope.namespace !== '' ? scope.namespace : undefined,
    );
    all = all.filter((o) => matchesSelectors(o, opts.labels, opts.fields));
    let start = 0;
    if (opts.continueToken !== undefined && opts.continueToken !== '') {
      const after = decodeContinue(opts.continueToken);
      start = all.findIndex((o) => listKey(o) > after);
      if (start < 0) start = all.length;
    }
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : all.length;
    const page = all.slice(start, start + limit);
    const rest = all.length - start - page.length;
    const last = page[page.length - 1];
    const result: ListResult = {
      items: page.map((o) => this.present(info, o)),
      resourceVersion: rv,
      continueToken: rest > 0 && last !== undefined ? encodeContinue(listKey(last)) : '',
    };
    if (rest > 0) result.remaining = rest;
    return result;
  }

  /** Creates an object (POST): managed metadata, namespace check, schema validation, 409 on duplicates. */
  create(scope: Scope, body: unknown, opts: WriteOptions): KubeObject {
    const info = scope.served.info;
    if (scope.subresource === 'status') throw ApiError.methodNotAllowed();
    let obj = requireObject(body, info);
    checkTypeMeta(obj, info, apiVersionOf(info.group, info.version));
    this.placeNamespace(obj, scope);
    const now = this.env.now();
    obj.metadata = stripManaged(obj.metadata);
    if (
      (obj.metadata.name ?? '') === '' &&
      typeof obj.metadata.generateName === 'string' &&
      obj.metadata.generateName !== ''
    ) {
      obj.metadata.name = obj.metadata.generateName + generateSuffix(this.env.random);
    }
    const name = obj.metadata.name ?? '';
    obj = this.validateAll(scope.served, obj, opts);
    if (info.namespaced && this.storage.get(NS_KEY, '', scope.namespace) === undefined) {
      throw ApiError.notFound({ group: '', resource: 'namespaces', name: scope.namespace });
    }
    if (this.storage.get(info.storageKey, scope.namespace, name) !== undefined)
      throw ApiError.alreadyExists(target(info, name));
    obj = applyBuiltinDefaults(info, obj, {
      existing: undefined,
      usedClusterIps: () => this.usedClusterIps(),
    });
    obj.metadata.uid = this.env.uid();
    obj.metadata.creationTimestamp = timestamp(now);
    obj.metadata.generation = 1;
    const status = initialStatus(info, obj.status as JsonValue | undefined);
    if (status === undefined) delete obj.status;
    else obj.status = status;
    if (info.storageKey === CRD_KEY) obj.status = crdStatus(obj, now);
    if (opts.dryRun) return this.present(info, obj);
    const stored = this.storage.put(info.storageKey, obj, 'ADDED');
    if (info.storageKey === CRD_KEY) this.registry.setCrd(stored);
    return this.present(info, stored);
  }

  /**
   * Replaces an object (PUT) or its status. A `metadata.resourceVersion` in the body is a
   * precondition (409 Conflict); custom resources require one, as on the real server.
   */
  update(scope: Scope, body: unknown, opts: WriteOptions, requireRv = true): KubeObject {
    const info = scope.served.info;
    const obj = requireObject(body, info);
    checkTypeMeta(obj, info, apiVersionOf(info.group, info.version));
    const name = scope.name ?? '';
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw ApiError.badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    this.placeNamespace(obj, scope);
    const existing = this.storage.get(info.storageKey, scope.namespace, name);
    if (existing === undefined) throw ApiError.notFound(target(info, name));
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== existing.metadata.resourceVersion)
      throw ApiError.conflict(target(info, name));
    if ((rv === undefined || rv === '') && info.custom && requireRv) {
      throw ApiError.invalid(info.group, info.kind, name, [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 0x0: must be specified for an update',
          field: 'metadata.resourceVersion',
        },
      ]);
    }
    return this.write(scope, existing, obj, opts);
  }

  /** Patches an object or its status with a JSON, merge, strategic merge (built-ins) or apply patch. */
  patch(scope: Scope, contentType: string, raw: string, opts: WriteOptions): KubeObject {
    const info = scope.served.info;
    const name = scope.name ?? '';
    const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const accepted: string[] = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply];
    if (!info.custom) accepted.splice(2, 0, PATCH_TYPES.strategic);
    if (!accepted.includes(type)) throw ApiError.unsupportedMediaType(accepted);
    let patchBody: JsonValue;
    (type === PATCH_TYPES.apply ? checkYamlDepth : checkJsonDepth)(raw, 'error decoding patch');
    try {
      patchBody = (type === PATCH_TYPES.apply ? parseYaml(raw) : JSON.parse(raw)) as JsonValue;
    } catch (e) {
      throw ApiError.badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    if ((type === PATCH_TYPES.merge || type === PATCH_TYPES.strategic) && opts.fieldValidation !== 'Ignore')
      opts.duplicateFields = duplicateJsonKeys(raw);
    const existing = this.storage.get(info.storageKey, scope.namespace, name);
    if (existing === undefined) {
      if (type === PATCH_TYPES.apply) return this.create({ ...scope }, patchBody, opts);
      throw ApiError.notFound(target(info, name));
    }
    const base = this.present(info, existing) as unknown as JsonValue;
    let patched: JsonValue;
    if (type === PATCH_TYPES.json) patched = jsonPatch(base, patchBody);
    else if (type === PATCH_TYPES.strategic) patched = strategicMergePatch(base, patchBody);
    else {
      if (!isJsonObject(patchBody))
        throw ApiError.badRequest('error decoding patch: the patch must be a JSON object');
      patched = mergePatch(base, patchBody);
    }
    const obj = requireObject(patched, info);
    if (obj.metadata.name !== name)
      throw ApiError.badRequest(
        `the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`,
      );
    // A resourceVersion inside the patch is a precondition, like on update.
    if (obj.metadata.resourceVersion !== existing.metadata.resourceVersion) {
      const rv = obj.metadata.resourceVersion;
      if (rv !== undefined && rv !== null && rv !== '') throw ApiError.conflict(target(info, name));
    }
    return this.write(scope, existing, obj, opts);
  }

  /** Deletes (or marks for deletion when finalizers remain). Returns the object and whether it is gone. */
  delete(scope: Scope, body: unknown): { object: KubeObject; gone: boolean } {
    const info = scope.served.info;
    const name = scope.name ?? '';
    refuseProtectedNamespace(info, name);
    const existing = this.storage.get(info.storageKey, scope.namespace, name);
    if (existing === undefined) throw ApiError.notFound(target(info, name));
    if (isJsonObject(body) && isJsonObject(body.preconditions)) {
      const p = body.preconditions;
      if (typeof p.uid === 'string' && p.uid !== existing.metadata.uid) {
        throw ApiError.conflict(
          target(info, name),
          `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${existing.metadata.uid ?? ''}`,
        );
      }
      if (typeof p.resourceVersion === 'string' && p.resourceVersion !== existing.metadata.resourceVersion) {
        throw ApiError.conflict(
          target(info, name),
          `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion ?? ''}`,
        );
      }
    }
    if (isJsonObject(body) && Array.isArray(body.dryRun) && body.dryRun.includes('All'))
      return { object: this.present(info, existing), gone: true };
    if ((existing.metadata.finalizers?.length ?? 0) > 0) {
      if (existing.metadata.deletionTimestamp !== undefined)
        return { object: this.present(info, existing), gone: false };
      const marked: KubeObject = {
        ...existing,
        metadata: {
          ...existing.metadata,
          deletionTimestamp: timestamp(this.env.now()),
          deletionGracePeriodSeconds: 0,
        },
      };
      return {
        object: this.present(info, this.storage.put(info.storageKey, marked, 'MODIFIED')),
        gone: false,
      };
    }
    return { object: this.present(info, this.removeNow(info, existing)), gone: true };
  }

  /**
   * Deletes every object matching the selectors; returns the deleted (or marked) objects. With
   * `dryRun`, nothing is deleted: the objects are returned as a delete would leave them.
   */
  deleteCollection(scope: Scope, opts: ListOptions, options: { dryRun?: boolean } = {}): KubeObject[] {
    const { items } = this.list(scope, { labels: opts.labels, fields: opts.fields });
    return items.map(
      (o) =>
        this.delete(
          { ...scope, namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' },
          options.dryRun === true ? { dryRun: ['All'] } : undefined,
        ).object,
    );
  }

  private removeNow(info: ResourceInfo, existing: KubeObject): KubeObject {
    const name = existing.metadata.name ?? '';
    if (info.storageKey === NS_KEY) {
      // No namespace controller: the contents go at once (finalizers of contained objects are not waited for).
      for (const key of this.storage.keys()) {
        if (key === NS_KEY) continue;
        for (const o of this.storage.list(key, name)) this.storage.remove(key, o);
      }
    }
    if (info.storageKey === CRD_KEY) {
      const spec = existing.spec as JsonObject;
      const key = `${String(spec.group)}/${String((spec.names as JsonObject).plural)}`;
      for (const o of this.storage.list(key)) this.storage.remove(key, o);
      this.registry.removeCrd(name);
    }
    return this.storage.remove(info.storageKey, existing);
  }

  private placeNamespace(obj: KubeObject, scope: Scope): void {
    const info = scope.served.info;
    if (!info.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    const ns = obj.metadata.namespace;
    if (ns !== undefined && ns !== '' && ns !== scope.namespace) {
      throw ApiError.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = scope.namespace;
  }

  /** Shared tail of update and patch: subresource rules, validation, generation, finalizers, commit. */
  private write(scope: Scope, existing: KubeObject, incoming: KubeObject, opts: WriteOptions): KubeObject {
    const info = scope.served.info;
    let next: KubeObject;
    if (scope.subresource === 'status') {
      // Shallow copies are enough: nothing below mutates nested values (pruning is copy-on-write).
      next = {
        ...existing,
        metadata: { ...existing.metadata },
        apiVersion: incoming.apiVersion,
        kind: incoming.kind,
      } as KubeObject;
      if (incoming.status === undefined) delete next.status;
      else next.status = incoming.status;
    } else {
      next = incoming;
      next.metadata = {
        ...stripManaged(incoming.metadata),
        finalizers: incoming.metadata.finalizers,
      } as KubeObject['metadata'];
      if (next.metadata.finalizers === undefined) delete next.metadata.finalizers;
      if (info.hasStatus) {
        if (existing.status === undefined) delete next.status;
        else next.status = existing.status;
      }
      for (const k of [
        'uid',
        'creationTimestamp',
        'generation',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
      ] as const) {
        const v = existing.metadata[k];
        if (v !== undefined) (next.metadata as Record<string, unknown>)[k] = v;
      }
    }
    next.metadata.resourceVersion = existing.metadata.resourceVersion as string;
    next = this.validateAll(scope.served, next, opts);
    if (scope.subresource !== 'status')
      next = applyBuiltinDefaults(info, next, { existing, usedClusterIps: () => this.usedClusterIps() });
    if (info.storageKey === CRD_KEY) next.status = crdStatus(next, this.env.now());
    if (specPart(next) !== specPart(existing))
      next.metadata.generation = (existing.metadata.generation ?? 0) + 1;
    const unchanged = jsonEqual(
      next as unknown as JsonValue,
      this.present(info, existing) as unknown as JsonValue,
    );
    if (unchanged || opts.dryRun) return unchanged ? this.present(info, existing) : next;
    if (existing.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers?.length ?? 0) === 0) {
      return this.present(info, this.removeNow(info, next));
    }
    const stored = this.storage.put(info.storageKey, next, 'MODIFIED');
    if (info.storageKey === CRD_KEY) this.registry.setCrd(stored);
    return this.present(info, stored);
  }

  /** Cluster IPs of every stored Service (Service defaults allocate around them). */
  private usedClusterIps(): Set<string> {
    const out = new Set<string>();
    for (const svc of this.storage.list('/services')) {
      const ip = (svc as unknown as { spec?: { clusterIP?: unknown } }).spec?.clusterIP;
      if (typeof ip === 'string' && ip !== 'None') out.add(ip);
    }
    return out;
  }

  /** Metadata, CRD and schema validation; returns the pruned and defaulted object. */
  private validateAll(served: ServedResource, obj: KubeObject, opts: WriteOptions): KubeObject {
    const info = served.info;
    const name = obj.metadata.name ?? '';
    const causes = validateMeta(info, obj.metadata);
    if (info.storageKey === CRD_KEY) causes.push(...validateCrd(obj));
    if (causes.length > 0) throw ApiError.invalid(info.group, info.kind, name, causes);
    const typed = pruneTypedFields(obj as unknown as JsonObject, info);
    const pruned =
      served.schema === undefined
        ? { object: typed.object, unknown: [] }
        : pruneAndDefault(typed.object, served.schema.raw);
    const unknown = [...typed.unknown, ...pruned.unknown];
    reportFieldProblems(
      info,
      { unknown, duplicate: opts.duplicateFields ?? [] },
      opts.fieldValidation,
      opts.warnings,
    );
    const object = pruned.object;
    if (served.schema === undefined) return object as unknown as KubeObject;
    if (!served.schema.validate(object)) {
      throw ApiError.invalid(
        info.group,
        info.kind,
        name,
        errorsToCauses(served.schema.validate.errors ?? [], object),
      );
    }
    return object as unknown as KubeObject;
  }
}

/** Namespaces kube-apiserver's NamespaceLifecycle admission never lets anyone delete. */
export const PROTECTED_NAMESPACES: readonly string[] = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
];

/** 403 for deleting a protected namespace, with the real server's message (dry runs included). */
function refuseProtectedNamespace(info: ResourceInfo, name: string): void {
  if (info.group === '' && info.resource === 'namespaces' && PROTECTED_NAMESPACES.includes(name))
    throw ApiError.forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, {
      name,
      kind: 'namespaces',
    });
}
