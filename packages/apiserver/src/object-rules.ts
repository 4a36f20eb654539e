import { ApiError, type StatusCause } from './errors.js';
import type { ResourceInfo } from './resources.js';
import { isJsonObject, type JsonObject, type JsonValue, type KubeObject, type ObjectMeta } from './types.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Server-managed metadata fields a client cannot set. */
export const MANAGED_META: readonly string[] = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
];

/** RFC 3339 timestamp with second precision, as `creationTimestamp` is rendered. */
export function timestamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Random suffix for `generateName` (the real server uses 5 chars from the same alphabet). */
export function generateSuffix(random: () => number): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_ALPHABET[Math.floor(random() * GENERATE_ALPHABET.length)];
  return s;
}

/** Checks `metadata.name` (and label keys/values) and returns the causes of a 422. */
export function validateMeta(info: ResourceInfo, meta: ObjectMeta): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = meta.name ?? '';
  if (name === '') {
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  } else if (info.resource === 'namespaces' && info.group === '') {
    if (name.length > 63 || !DNS_LABEL.test(name)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        field: 'metadata.name',
      });
    }
  } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      field: 'metadata.name',
    });
  }
  for (const [field, m] of [
    ['metadata.labels', meta.labels],
    ['metadata.annotations', meta.annotations],
  ] as const) {
    if (m === undefined) continue;
    if (!isJsonObject(m)) {
      causes.push({
        reason: 'FieldValueTypeInvalid',
        message: 'Invalid value: must be a map of strings',
        field,
      });
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string')
        causes.push({
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: ${JSON.stringify(v)}: must be a string`,
          field: `${field}.${k}`,
        });
      for (const message of qualifiedNameProblems(k))
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${k}": ${message}`, field });
      if (field === 'metadata.labels' && typeof v === 'string')
        for (const message of labelValueProblems(v))
          causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${v}": ${message}`, field });
    }
  }
  return causes;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** kube-apiserver's checks of a label or annotation key (`[prefix/]name`), in its words. */
function qualifiedNameProblems(key: string): string[] {
  const out: string[] = [];
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0) out.push('prefix part must be non-empty');
    else if (prefix.length > 253) out.push('prefix part must be no more than 253 characters');
    else if (!DNS_SUBDOMAIN.test(prefix))
      out.push(
        "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      );
  }
  if (name.length === 0) out.push('name part must be non-empty');
  else if (name.length > 63) out.push('name part must be no more than 63 characters');
  if (name.length > 0 && !QUALIFIED_NAME.test(name))
    out.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  return out;
}

/** kube-apiserver's checks of a label value, in its words. */
function labelValueProblems(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(v))
    out.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  return out;
}

/** Everything except `metadata` and `status` (and the type fields): what `generation` tracks. */
export function specPart(o: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return JSON.stringify(rest);
}

/** Deep equality of two JSON values (key order ignored). */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isJsonObject(a) && isJsonObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Parses a request body into an object or throws 400 as the real server words it. */
export function requireObject(body: unknown, info: ResourceInfo): KubeObject {
  if (!isJsonObject(body)) {
    throw ApiError.badRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: body must be a JSON object`,
    );
  }
  const meta = body.metadata;
  if (meta !== undefined && meta !== null && !isJsonObject(meta)) {
    throw ApiError.badRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: metadata must be an object`,
    );
  }
  if (isJsonObject(meta)) checkMetaTypes(meta, info);
  if (!info.custom) checkBuiltinFieldTypes(body, info);
  return { ...(body as JsonObject), metadata: { ...((meta ?? {}) as ObjectMeta) } } as KubeObject;
}

/** Top-level fields of built-in kinds that Go decodes as string maps. */
const STRING_MAPS: Record<string, readonly string[]> = {
  ConfigMap: ['data', 'binaryData'],
  Secret: ['data', 'stringData'],
};

/**
 * 400 for top-level fields of built-in kinds that Go's typed decoder cannot read: `spec`/`status`
 * that are not objects, ConfigMap/Secret data that are not maps of strings.
 */
function checkBuiltinFieldTypes(body: JsonObject, info: ResourceInfo): void {
  const fail = (field: string, got: unknown, want: string): never => {
    throw ApiError.badRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: json: cannot unmarshal ${goJsonType(got)} into Go struct field ${info.kind}.${field} of type ${want}`,
    );
  };
  for (const f of ['spec', 'status'] as const) {
    const v = body[f];
    if (v !== undefined && v !== null && !isJsonObject(v))
      fail(f, v, `${info.version}.${info.kind}${f === 'spec' ? 'Spec' : 'Status'}`);
  }
  for (const f of STRING_MAPS[info.kind] ?? []) {
    const v = body[f];
    if (v === undefined || v === null) continue;
    if (!isJsonObject(v)) fail(f, v, 'map[string]string');
    for (const x of Object.values(v as JsonObject))
      if (x !== null && typeof x !== 'string') fail(f, x, 'string');
  }
}

/** Go's JSON name of a value's type, as in `json: cannot unmarshal array into ...`. */
function goJsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/**
 * 400 for ObjectMeta fields of the wrong JSON type (a numeric or array `metadata.name` would be
 * stored under a key no URL can reach), with the text Go's decoder gives the real server.
 */
function checkMetaTypes(meta: JsonObject, info: ResourceInfo): void {
  const fail = (field: string, got: unknown, want: string): never => {
    throw ApiError.badRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: json: cannot unmarshal ${goJsonType(got)} into Go struct field ObjectMeta.metadata.${field} of type ${want}`,
    );
  };
  for (const f of ['name', 'generateName', 'namespace'] as const) {
    const v = meta[f];
    if (v !== undefined && v !== null && typeof v !== 'string') fail(f, v, 'string');
  }
  for (const f of ['labels', 'annotations'] as const) {
    const v = meta[f];
    if (v === undefined || v === null) continue;
    if (!isJsonObject(v)) fail(f, v, 'map[string]string');
    for (const x of Object.values(v as JsonObject))
      if (x !== null && typeof x !== 'string') fail(f, x, 'string');
  }
  const fin = meta.finalizers;
  if (fin !== undefined && fin !== null) {
    if (!Array.isArray(fin)) fail('finalizers', fin, '[]string');
    for (const x of fin as unknown[])
      if (x !== null && typeof x !== 'string') fail('finalizers', x, 'string');
  }
}

/**
 * Custom resources are decoded without a typed default: a create or update body without `kind` or
 * `apiVersion` is 400, as the real server's unstructured decoder refuses it. Checked on HTTP bodies
 * only; in-process callers of ApiCore may still leave them out.
 */
export function requireTypeMetaFields(body: unknown): void {
  if (!isJsonObject(body)) return;
  const text = JSON.stringify(body);
  const shown = text.length > 100 ? `${text.slice(0, 100)}...` : text;
  if (typeof body.kind !== 'string' || body.kind === '')
    throw ApiError.badRequest(`Object 'Kind' is missing in '${shown}'`);
  if (typeof body.apiVersion !== 'string' || body.apiVersion === '')
    throw ApiError.badRequest(`Object 'apiVersion' is missing in '${shown}'`);
}

/** Checks apiVersion/kind in a body against the endpoint (400 on mismatch, defaults when absent). */
export function checkTypeMeta(obj: KubeObject, info: ResourceInfo, apiVersion: string): void {
  if (obj.kind !== undefined && obj.kind !== info.kind) {
    throw ApiError.badRequest(
      `the kind in the data (${obj.kind}) does not match the expected kind (${info.kind})`,
    );
  }
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
    throw ApiError.badRequest(
      `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  obj.apiVersion = apiVersion;
  obj.kind = info.kind;
}

/** Removes server-managed metadata a client sent, keeping the rest. */
export function stripManaged(meta: ObjectMeta): ObjectMeta {
  const out = { ...meta };
  for (const k of MANAGED_META) delete out[k];
  delete out.managedFields;
  return out;
}

/** The status a built-in kind gets on create (what its strategy would set). */
export function initialStatus(info: ResourceInfo, given: JsonValue | undefined): JsonValue | undefined {
  if (info.custom) return info.hasStatus ? undefined : given;
  if (info.group === '' && info.resource === 'namespaces') return { phase: 'Active' };
  if (info.group === '' && info.resource === 'pods') return { phase: 'Pending', qosClass: 'BestEffort' };
  return given;
}

/** Status of a stored CRD: names accepted and established at once (there is no controller lag here). */
export function crdStatus(crd: KubeObject, nowMs: number): JsonObject {
  const spec = crd.spec as JsonObject;
  const names = { ...(spec.names as JsonObject) };
  if (typeof names.singular !== 'string') names.singular = String(names.kind).toLowerCase();
  if (typeof names.listKind !== 'string') names.listKind = `${String(names.kind)}List`;
  const ts = timestamp(nowMs);
  const storage = (spec.versions as JsonObject[]).find((v) => v.storage === true);
  return {
    acceptedNames: names,
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        lastTransitionTime: ts,
        reason: 'NoConflicts',
        message: 'no conflicts found',
      },
      {
        type: 'Established',
        status: 'True',
        lastTransitionTime: ts,
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
      },
    ],
    storedVersions: [String(storage?.name ?? '')],
  };
}
