import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsNs from 'ajv-formats';
import type { StatusCause } from './errors.js';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from './types.js';

// ajv-formats is CommonJS whose export is a function that also carries `.default` = itself:
// `.default` is right in ESM (module.exports) and in the CJS build (esModule interop) alike.
const addFormats = addFormatsNs.default;

/** Formats the real API server checks; any other format is documentation only. */
const CHECKED_FORMATS = new Set([
  'date',
  'date-time',
  'uri',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uuid',
  'byte',
  'cidr',
  'mac',
]);

function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true, logger: false });
  addFormats(ajv, ['date', 'date-time', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid', 'byte']);
  ajv.addFormat('cidr', {
    type: 'string',
    validate: (s: string) => {
      const [ip, bits, extra] = s.split('/');
      if (ip === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits))
        return false;
      const n = Number(bits);
      if (ip.includes(':')) return n <= 128 && /^[0-9a-fA-F:.]+$/.test(ip) && ip.includes(':');
      return (
        n <= 32 &&
        /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip) &&
        ip.split('.').every((o) => Number(o) <= 255)
      );
    },
  });
  ajv.addFormat('mac', /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/);
  return ajv;
}

const ajv = makeAjv();

/** Converts a structural OpenAPI v3 schema (as in a CRD) to a JSON Schema ajv can compile. */
export function toJsonSchema(s: JsonValue | undefined): JsonObject {
  if (!isJsonObject(s)) return {};
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    switch (k) {
      case 'properties':
        if (isJsonObject(v))
          out.properties = Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, toJsonSchema(ps)]));
        break;
      case 'items':
        out.items = toJsonSchema(v);
        break;
      case 'additionalProperties':
        out.additionalProperties = typeof v === 'boolean' ? true : toJsonSchema(v);
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        if (Array.isArray(v)) out[k] = v.map((x) => toJsonSchema(x));
        break;
      case 'not':
        out.not = toJsonSchema(v);
        break;
      case 'format':
        if (typeof v === 'string' && CHECKED_FORMATS.has(v)) out.format = v;
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        break; // OpenAPI v3.0 booleans: folded into minimum/maximum below
      case 'minimum':
        if (s.exclusiveMinimum === true) out.exclusiveMinimum = v;
        else out.minimum = v;
        break;
      case 'maximum':
        if (s.exclusiveMaximum === true) out.exclusiveMaximum = v;
        else out.maximum = v;
        break;
      case 'type':
      case 'required':
      case 'enum':
      case 'minLength':
      case 'maxLength':
      case 'pattern':
      case 'minItems':
      case 'maxItems':
      case 'uniqueItems':
      case 'multipleOf':
      case 'minProperties':
      case 'maxProperties':
        out[k] = v;
        break;
      default:
        break; // description, default, example, x-kubernetes-*: not validation
    }
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (s.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (s.nullable === true && Array.isArray(out.enum)) out.enum = [...out.enum, null];
  return out;
}

/** A compiled CRD version schema: validation plus pruning and defaulting. */
export interface CompiledSchema {
  readonly raw: JsonObject;
  readonly validate: ValidateFunction;
}

/** Compiles a CRD version's `openAPIV3Schema`. */
export function compileSchema(raw: JsonObject): CompiledSchema {
  const js = toJsonSchema(raw);
  // metadata is validated by the server itself, not by the CRD schema (which may only narrow name).
  if (isJsonObject(js.properties)) {
    const props = { ...js.properties };
    delete props.metadata;
    delete props.apiVersion;
    delete props.kind;
    js.properties = props;
  }
  return { raw, validate: ajv.compile(js) };
}

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/**
 * Applies schema defaults and prunes fields the schema does not know, as the real server does for
 * structural schemas. Copy-on-write: the input is never mutated (stored objects are shared), and
 * unchanged subtrees are returned as they are. `unknown` lists the dotted paths of the pruned
 * fields so `fieldValidation=Strict` can reject them instead.
 */
export function pruneAndDefault<T extends JsonObject>(
  obj: T,
  schema: JsonObject,
): { object: T; unknown: string[] } {
  const unknown: string[] = [];
  const object = walk(obj, schema, '', unknown, true) as T;
  return { object, unknown };
}

function walk(
  v: JsonValue,
  s: JsonValue | undefined,
  path: string,
  unknown: string[],
  root: boolean,
): JsonValue {
  if (!isJsonObject(s)) return v;
  if (Array.isArray(v)) {
    let arr: JsonValue[] | undefined;
    v.forEach((x, i) => {
      const y = walk(x, s.items, `${path}[${i}]`, unknown, false);
      if (y !== x) {
        arr ??= [...v];
        arr[i] = y;
      }
    });
    return arr ?? v;
  }
  if (!isJsonObject(v)) return v;
  let out: JsonObject | undefined;
  const cur = (): JsonObject => out ?? v;
  const set = (k: string, x: JsonValue): void => {
    out ??= { ...v };
    out[k] = x;
  };
  const del = (k: string): void => {
    out ??= { ...v };
    delete out[k];
  };
  const props = isJsonObject(s.properties) ? s.properties : undefined;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  const addl = s.additionalProperties;
  if (props !== undefined) {
    for (const [k, ps] of Object.entries(props)) {
      if (!isJsonObject(ps)) continue;
      if (cur()[k] === null && ps.nullable !== true) del(k);
      if (cur()[k] === undefined && ps.default !== undefined) set(k, cloneJson(ps.default));
    }
  }
  for (const k of Object.keys(cur())) {
    const child = path === '' ? k : `${path}.${k}`;
    if ((root || embedded) && ROOT_FIELDS.has(k)) continue;
    const ps = props?.[k];
    const sub = ps ?? (isJsonObject(addl) ? addl : undefined);
    if (sub !== undefined) {
      const before = cur()[k] as JsonValue;
      const after = walk(before, sub, child, unknown, false);
      if (after !== before) set(k, after);
    } else if (addl === true || preserve) {
      // kept as is
    } else {
      unknown.push(child);
      del(k);
    }
  }
  return out ?? v;
}

function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return Array.isArray(v) ? '[]interface {}{...}' : 'map[string]interface {}{...}';
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function pointerToField(p: string): string {
  if (p === '') return '';
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '');
}

function valueAt(obj: JsonValue, pointer: string): unknown {
  if (pointer === '') return obj;
  let cur: unknown = obj;
  for (const seg of pointer.slice(1).split('/')) {
    const k = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = Array.isArray(cur) ? cur[Number(k)] : isJsonObject(cur) ? cur[k] : undefined;
  }
  return cur;
}

/** Maps ajv errors to the field causes a real API server reports (reason, message, field). */
export function errorsToCauses(errors: readonly ErrorObject[], obj: JsonValue): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // anyOf/oneOf produce one error per branch plus a summary; the summary is enough.
    if (
      errors.some(
        (o) =>
          o !== e &&
          (o.keyword === 'anyOf' || o.keyword === 'oneOf') &&
          e.schemaPath.startsWith(o.schemaPath.replace(/\/(anyOf|oneOf)$/, '/$1/')),
      )
    ) {
      continue;
    }
    const field = pointerToField(e.instancePath);
    const v = valueAt(obj, e.instancePath);
    const where = field === '' ? '<root>' : field;
    let c: StatusCause;
    switch (e.keyword) {
      case 'required': {
        const p = (e.params as { missingProperty: string }).missingProperty;
        c = {
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: field === '' ? p : `${field}.${p}`,
        };
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues
          .map((x) => JSON.stringify(x))
          .join(', ');
        c = {
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${renderValue(v)}: supported values: ${allowed}`,
          field,
        };
        break;
      }
      case 'type': {
        const t = (e.params as { type: string | string[] }).type;
        const want = Array.isArray(t) ? t.join(',') : t;
        c = {
          reason: 'FieldValueTypeInvalid',
          message: `Invalid value: "${typeName(v)}": ${where} in body must be of type ${want}: "${typeName(v)}"`,
          field,
        };
        break;
      }
      default:
        c = {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${renderValue(v)}: ${where} in body ${describe(e)}`,
          field,
        };
    }
    const k = `${c.field}|${c.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      causes.push(c);
    }
  }
  // The real server reports causes ordered by field path.
  return causes.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'minimum':
      return `should be greater than or equal to ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `should be greater than ${String(p.limit)}`;
    case 'maximum':
      return `should be less than or equal to ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `should be less than ${String(p.limit)}`;
    case 'minLength':
      return `should be at least ${String(p.limit)} chars long`;
    case 'maxLength':
      return `should be at most ${String(p.limit)} chars long`;
    case 'minItems':
      return `should have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `should have at most ${String(p.limit)} items`;
    case 'pattern':
      return `should match '${String(p.pattern)}'`;
    case 'format':
      return `must be of type ${String(p.format)}`;
    case 'uniqueItems':
      return 'shall give unique items';
    case 'multipleOf':
      return `should be a multiple of ${String(p.multipleOf)}`;
    default:
      return e.message ?? `failed ${e.keyword}`;
  }
}
