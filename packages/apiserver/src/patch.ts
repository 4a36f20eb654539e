import { ApiError } from './errors.js';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from './types.js';

/** Patch content types the server accepts. */
export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/**
 * RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, everything else replaces.
 * Returns a new value; neither input is mutated.
 */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return Array.isArray(patch) ? cloneJson(patch) : patch;
  const out: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function decodePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/'))
    throw ApiError.badRequest(
      `the server rejected our request due to an error in our request: invalid JSON pointer "${ptr}"`,
    );
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function jsonPatchError(msg: string): ApiError {
  return new ApiError(422, 'Invalid', msg);
}

function getAt(doc: JsonValue, path: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg)) return undefined;
      cur = cur[Number(seg)];
    } else if (isJsonObject(cur)) {
      cur = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Sets, inserts or removes at `path` inside a document that is already a private copy. */
function mutateAt(
  doc: JsonValue,
  path: string[],
  op: 'add' | 'replace' | 'remove',
  value?: JsonValue,
): JsonValue {
  if (path.length === 0) {
    if (op === 'remove')
      throw jsonPatchError('jsonpatch remove operation does not apply: doc is missing path: ');
    return value as JsonValue;
  }
  const parent = getAt(doc, path.slice(0, -1));
  const last = path[path.length - 1] as string;
  const where = `/${path.join('/')}`;
  if (Array.isArray(parent)) {
    const idx = last === '-' ? parent.length : /^\d+$/.test(last) ? Number(last) : Number.NaN;
    if (Number.isNaN(idx))
      throw jsonPatchError(`jsonpatch ${op} operation does not apply: doc is missing path: "${where}"`);
    if (op === 'add') {
      if (idx > parent.length)
        throw jsonPatchError(`jsonpatch add operation does not apply: doc is missing path: "${where}"`);
      parent.splice(idx, 0, value as JsonValue);
    } else {
      if (idx >= parent.length)
        throw jsonPatchError(`jsonpatch ${op} operation does not apply: doc is missing path: "${where}"`);
      if (op === 'remove') parent.splice(idx, 1);
      else parent[idx] = value as JsonValue;
    }
  } else if (isJsonObject(parent)) {
    if (op !== 'add' && !Object.hasOwn(parent, last)) {
      throw jsonPatchError(`jsonpatch ${op} operation does not apply: doc is missing key: ${where}`);
    }
    if (op === 'remove') delete parent[last];
    else parent[last] = value as JsonValue;
  } else {
    throw jsonPatchError(`jsonpatch ${op} operation does not apply: doc is missing path: "${where}"`);
  }
  return doc;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test). Returns a new document. */
export function jsonPatch(target: JsonValue, ops: JsonValue): JsonValue {
  if (!Array.isArray(ops))
    throw ApiError.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = cloneJson(target);
  for (const raw of ops) {
    if (!isJsonObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw ApiError.badRequest(
        'the server rejected our request due to an error in our request: invalid JSON patch operation',
      );
    }
    const path = decodePointer(raw.path);
    switch (raw.op) {
      case 'add':
      case 'replace':
        if (raw.value === undefined) throw jsonPatchError(`jsonpatch ${raw.op} operation is missing value`);
        doc = mutateAt(doc, path, raw.op, cloneJson(raw.value));
        break;
      case 'remove':
        doc = mutateAt(doc, path, 'remove');
        break;
      case 'move':
      case 'copy': {
        if (typeof raw.from !== 'string')
          throw jsonPatchError(`jsonpatch ${raw.op} operation is missing from`);
        const from = decodePointer(raw.from);
        const v = getAt(doc, from);
        if (v === undefined)
          throw jsonPatchError(
            `jsonpatch ${raw.op} operation does not apply: doc is missing from path: ${raw.from}`,
          );
        const copy = cloneJson(v);
        if (raw.op === 'move') doc = mutateAt(doc, from, 'remove');
        doc = mutateAt(doc, path, 'add', copy);
        break;
      }
      case 'test': {
        const v = getAt(doc, path);
        if (JSON.stringify(v) !== JSON.stringify(raw.value))
          throw jsonPatchError(`testing value ${raw.path} failed: test failed`);
        break;
      }
      default:
        throw ApiError.badRequest(`Unexpected kind: ${raw.op}`);
    }
  }
  return doc;
}

/**
 * Merge keys of lists in the built-in kinds that kubectl patches strategically. Lists not named
 * here are replaced as a whole (the real server's default for lists without a patch strategy).
 * `''` marks a list of primitives merged as a set (e.g. `finalizers`).
 */
const MERGE_KEYS: Record<string, string> = {
  conditions: 'type',
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  addresses: 'type',
  ownerReferences: 'uid',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  schedulingGates: 'name',
  resourceClaims: 'name',
  // Validating/MutatingWebhookConfiguration.webhooks
  webhooks: 'name',
  finalizers: '',
};

/**
 * The merge key of a list field. `ports` is keyed by `containerPort` in containers and by `port`
 * in a Service's spec: the elements say which one this list is.
 */
function mergeKeyOf(field: string, ...lists: JsonValue[]): string | undefined {
  if (field === 'ports') {
    const items = lists.flatMap((l) => (Array.isArray(l) ? l : []));
    return items.some((x) => isJsonObject(x) && 'containerPort' in x) ? 'containerPort' : 'port';
  }
  return MERGE_KEYS[field];
}

/**
 * Strategic merge patch for the built-in kinds: maps merge, `null` deletes, lists with a known
 * merge key merge element-wise, and the directives `$patch` (replace/delete/merge), `$retainKeys`,
 * `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured.
 */
export function strategicMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const base: JsonObject = isJsonObject(target) ? { ...target } : {};
  const directive = patch.$patch;
  if (directive === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return stripDirectives(rest);
  }
  if (directive === 'delete') return {};
  const retain = Array.isArray(patch.$retainKeys) ? patch.$retainKeys : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys') continue;
    if (k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = base[field];
      if (Array.isArray(cur) && Array.isArray(v)) {
        const del = new Set(v.map((x) => JSON.stringify(x)));
        base[field] = cur.filter((x) => !del.has(JSON.stringify(x)));
      }
      continue;
    }
    if (v === null) {
      delete base[k];
      continue;
    }
    const cur = base[k];
    if (Array.isArray(v)) {
      const key = mergeKeyOf(k, v, cur ?? null);
      base[k] = key === undefined || !Array.isArray(cur) ? stripList(v) : mergeList(cur, v, key);
    } else if (isJsonObject(v)) {
      base[k] = strategicMergePatch(cur, v);
    } else {
      base[k] = v;
    }
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = k.slice('$setElementOrder/'.length);
    const cur = base[field];
    const key = mergeKeyOf(field, cur ?? null, order);
    if (Array.isArray(cur) && key !== undefined) base[field] = reorder(cur, order, key);
  }
  if (retain !== undefined) {
    const keep = new Set(retain.filter((x): x is string => typeof x === 'string'));
    for (const k of Object.keys(base)) if (!keep.has(k)) delete base[k];
  }
  return base;
}

function stripDirectives(v: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    out[k] = isJsonObject(x) ? stripDirectives(x) : Array.isArray(x) ? stripList(x) : x;
  }
  return out;
}

function stripList(v: JsonValue[]): JsonValue[] {
  return v
    .filter((x) => !(isJsonObject(x) && x.$patch === 'delete'))
    .map((x) => (isJsonObject(x) ? stripDirectives(x) : x));
}

function mergeList(cur: JsonValue[], patch: JsonValue[], key: string): JsonValue[] {
  if (key === '') {
    const out = [...cur];
    const seen = new Set(cur.map((x) => JSON.stringify(x)));
    for (const x of patch) if (!seen.has(JSON.stringify(x))) out.push(x);
    return out;
  }
  if (patch.some((x) => isJsonObject(x) && x.$patch === 'replace')) {
    return stripList(patch.filter((x) => !(isJsonObject(x) && x.$patch === 'replace')));
  }
  const out = [...cur];
  for (const p of patch) {
    if (!isJsonObject(p)) continue;
    const id = JSON.stringify(p[key]);
    const idx = out.findIndex((x) => isJsonObject(x) && JSON.stringify(x[key]) === id);
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
    } else if (idx >= 0) {
      out[idx] = strategicMergePatch(out[idx], p);
    } else {
      out.push(stripDirectives(p));
    }
  }
  return out;
}

function reorder(cur: JsonValue[], order: JsonValue[], key: string): JsonValue[] {
  const ids = order.map((o) => JSON.stringify(key === '' ? o : isJsonObject(o) ? o[key] : o));
  const rank = (x: JsonValue): number => {
    const i = ids.indexOf(JSON.stringify(key === '' ? x : isJsonObject(x) ? x[key] : x));
    return i < 0 ? ids.length : i;
  };
  return cur
    .map((x, i) => ({ x, i }))
    .sort((a, b) => rank(a.x) - rank(b.x) || a.i - b.i)
    .map((e) => e.x);
}
