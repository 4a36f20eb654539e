import { ApiError } from './errors.js';
import { MANAGED_META } from './object-rules.js';
import type { ResourceInfo } from './resources.js';
import { isJsonObject, type JsonObject } from './types.js';

/**
 * Server-side field validation for what no CRD schema covers: the top level of built-in kinds,
 * `metadata` of every kind, and duplicate keys in JSON bodies. kube-apiserver decodes built-in
 * kinds into Go structs, so a field the struct lacks is dropped (`fieldValidation=Ignore`),
 * dropped with a `Warning` header (`Warn`, the default) or refused with 400 (`Strict`); the same
 * holds for a key that appears twice in one JSON object (the last one wins).
 */

/** ObjectMeta's JSON fields (k8s.io/apimachinery meta/v1): the server-managed ones and these. */
const OBJECT_META_FIELDS = new Set([
  ...MANAGED_META,
  'name',
  'generateName',
  'namespace',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const SPEC_STATUS = ['spec', 'status'] as const;

/** Top-level JSON fields (besides apiVersion, kind, metadata) of each built-in kind, by storage key. */
const BUILTIN_FIELDS: Record<string, readonly string[]> = {
  '/namespaces': SPEC_STATUS,
  '/nodes': SPEC_STATUS,
  '/pods': SPEC_STATUS,
  '/services': SPEC_STATUS,
  'apps/deployments': SPEC_STATUS,
  'apps/daemonsets': SPEC_STATUS,
  'policy/poddisruptionbudgets': SPEC_STATUS,
  'coordination.k8s.io/leases': ['spec'],
  '/configmaps': ['data', 'binaryData', 'immutable'],
  '/secrets': ['data', 'stringData', 'type', 'immutable'],
  '/serviceaccounts': ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  '/events': [
    'involvedObject',
    'reason',
    'message',
    'source',
    'firstTimestamp',
    'lastTimestamp',
    'count',
    'type',
    'eventTime',
    'series',
    'action',
    'related',
    'reportingComponent',
    'reportingInstance',
  ],
  'events.k8s.io/events': [
    'eventTime',
    'series',
    'reportingController',
    'reportingInstance',
    'action',
    'reason',
    'regarding',
    'related',
    'note',
    'type',
    'deprecatedSource',
    'deprecatedFirstTimestamp',
    'deprecatedLastTimestamp',
    'deprecatedCount',
  ],
  'rbac.authorization.k8s.io/roles': ['rules'],
  'rbac.authorization.k8s.io/clusterroles': ['rules', 'aggregationRule'],
  'rbac.authorization.k8s.io/rolebindings': ['subjects', 'roleRef'],
  'rbac.authorization.k8s.io/clusterrolebindings': ['subjects', 'roleRef'],
  'admissionregistration.k8s.io/validatingwebhookconfigurations': ['webhooks'],
  'admissionregistration.k8s.io/mutatingwebhookconfigurations': ['webhooks'],
  'apiextensions.k8s.io/customresourcedefinitions': SPEC_STATUS,
};

const TYPE_FIELDS = ['apiVersion', 'kind', 'metadata'];

/**
 * Drops the fields Go's typed decoder would not keep: unknown top-level fields of a built-in kind
 * (kinds without a table here are left alone) and unknown `metadata` fields of any kind. Returns
 * the object (a copy only when something was dropped) and the dropped paths, as the real server
 * names them in warnings and strict errors (`foo`, `metadata.foo`).
 */
export function pruneTypedFields<T extends JsonObject>(
  obj: T,
  info: ResourceInfo,
): { object: T; unknown: string[] } {
  const unknown: string[] = [];
  let out: JsonObject = obj;
  const known = info.custom ? undefined : BUILTIN_FIELDS[info.storageKey];
  if (known !== undefined) {
    for (const k of Object.keys(obj)) {
      if (TYPE_FIELDS.includes(k) || known.includes(k)) continue;
      if (out === obj) out = { ...obj };
      delete out[k];
      unknown.push(k);
    }
  }
  const meta = obj.metadata;
  if (isJsonObject(meta)) {
    let m: JsonObject = meta;
    for (const k of Object.keys(meta)) {
      if (OBJECT_META_FIELDS.has(k)) continue;
      if (m === meta) m = { ...meta };
      delete m[k];
      unknown.push(`metadata.${k}`);
    }
    if (m !== meta) {
      if (out === obj) out = { ...obj };
      out.metadata = m;
    }
  }
  return { object: out as T, unknown };
}

/**
 * The paths of keys that occur more than once in one object of a JSON text (`spec.replicas`,
 * `items[0].name`), in the order found. The text must be valid JSON (call after `JSON.parse`
 * accepted it) and within the depth limit; one linear pass, no recursion.
 */
export function duplicateJsonKeys(text: string): string[] {
  const found: string[] = [];
  /** Per open container: its path, the keys seen (objects) or the next index (arrays). */
  const stack: { path: string; keys?: Set<string>; index: number; key?: string }[] = [];
  let expectKey = false;
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (top === undefined) return '';
    if (top.keys === undefined) return `${top.path}[${top.index}]`;
    return top.path === '' ? (top.key ?? '') : `${top.path}.${top.key ?? ''}`;
  };
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; i < n; i++) {
        const d = text[i];
        if (d === '\\') i++;
        else if (d === '"') break;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top?.keys !== undefined) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) found.push(top.path === '' ? key : `${top.path}.${key}`);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
    } else if (c === '{' || c === '[') {
      const path = childPath();
      stack.push(c === '{' ? { path, keys: new Set(), index: 0 } : { path, index: 0 });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys !== undefined) expectKey = true;
      else if (top !== undefined) top.index++;
    }
  }
  return found;
}

/**
 * Applies `fieldValidation` to the unknown and duplicate fields found: 400 with the real server's
 * strict decoding message under `Strict`, one warning each under `Warn`, nothing under `Ignore`.
 */
export function reportFieldProblems(
  info: ResourceInfo,
  problems: { unknown: readonly string[]; duplicate: readonly string[] },
  fieldValidation: 'Strict' | 'Warn' | 'Ignore',
  warnings: string[],
): void {
  const list = [
    ...problems.duplicate.map((f) => `duplicate field "${f}"`),
    ...problems.unknown.map((f) => `unknown field "${f}"`),
  ];
  if (list.length === 0 || fieldValidation === 'Ignore') return;
  if (fieldValidation === 'Strict')
    throw ApiError.badRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${list.join(', ')}`,
    );
  warnings.push(...list);
}
