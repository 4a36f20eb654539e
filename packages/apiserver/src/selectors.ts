import { ApiError } from './errors.js';
import { isJsonObject, type KubeObject } from './types.js';

/** One parsed label-selector requirement. */
export interface LabelRequirement {
  key: string;
  op: 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | '>' | '<';
  values: string[];
}

/** One parsed field-selector requirement (`=`/`==` or `!=`). */
export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

type Token =
  | { kind: 'id'; text: string }
  | { kind: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '>' | '<' | 'end'; text: string };

const SPECIAL = new Set([' ', '\t', '\n', ',', '(', ')', '=', '!', '<', '>']);

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
    } else if (c === '=' && s[i + 1] === '=') {
      out.push({ kind: '==', text: '==' });
      i += 2;
    } else if (c === '!' && s[i + 1] === '=') {
      out.push({ kind: '!=', text: '!=' });
      i += 2;
    } else if (c === '=' || c === '!' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<') {
      out.push({ kind: c, text: c });
      i++;
    } else {
      let j = i;
      while (j < s.length && !SPECIAL.has(s[j] as string)) j++;
      out.push({ kind: 'id', text: s.slice(i, j) });
      i = j;
    }
  }
  out.push({ kind: 'end', text: '' });
  return out;
}

const KEY_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const okName = name.length > 0 && name.length <= 63 && KEY_NAME.test(name);
  const okPrefix = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  if (!okName || !okPrefix) {
    throw ApiError.badRequest(
      `unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkValue(v: string): void {
  if (v.length > 63 || !LABEL_VALUE.test(v)) {
    throw ApiError.badRequest(
      `unable to parse requirement: invalid label value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function fail(found: string, expected: string): never {
  throw ApiError.badRequest(`unable to parse requirement: found '${found}', expected: ${expected}`);
}

/**
 * Parses a label selector (`a=b,c!=d,e in (f,g),h notin (i),j,!k`) as the API server does.
 * Throws a 400 {@link ApiError} with a message in the real server's style.
 */
export function parseLabelSelector(s: string): LabelRequirement[] {
  const toks = lex(s);
  let p = 0;
  const peek = (): Token => toks[p] as Token;
  const next = (): Token => toks[p++] as Token;
  const reqs: LabelRequirement[] = [];
  if (peek().kind === 'end') return reqs;
  for (;;) {
    const t = next();
    if (t.kind === '!') {
      const k = next();
      if (k.kind !== 'id') fail(k.text, 'identifier after !');
      checkKey(k.text);
      reqs.push({ key: k.text, op: '!', values: [] });
    } else if (t.kind === 'id' && t.text !== 'in' && t.text !== 'notin') {
      checkKey(t.text);
      const op = peek();
      if (op.kind === ',' || op.kind === 'end') {
        reqs.push({ key: t.text, op: 'exists', values: [] });
      } else if (
        op.kind === '=' ||
        op.kind === '==' ||
        op.kind === '!=' ||
        op.kind === '>' ||
        op.kind === '<'
      ) {
        next();
        const v = peek();
        let value = '';
        if (v.kind === 'id') {
          value = v.text;
          next();
        } else if (v.kind !== ',' && v.kind !== 'end') {
          fail(v.text, 'identifier');
        }
        if (op.kind === '>' || op.kind === '<') {
          if (!/^-?\d+$/.test(value)) {
            throw ApiError.badRequest(
              `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`,
            );
          }
          reqs.push({ key: t.text, op: op.kind, values: [value] });
        } else {
          checkValue(value);
          reqs.push({ key: t.text, op: op.kind === '!=' ? '!=' : '=', values: [value] });
        }
      } else if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (open.kind !== '(') fail(open.text, "'('");
        const values: string[] = [];
        for (;;) {
          const v = peek();
          if (v.kind === 'id') {
            values.push(v.text);
            next();
          } else if (v.kind === ',' || v.kind === ')') {
            values.push('');
          } else {
            fail(v.text, "',' or ')'");
          }
          const sep = next();
          if (sep.kind === ')') break;
          if (sep.kind !== ',') fail(sep.text, "',' or ')'");
        }
        for (const v of values) checkValue(v);
        reqs.push({ key: t.text, op: op.text, values });
      } else {
        fail(op.text, "'=', '!=', '==', 'in', notin'");
      }
    } else {
      fail(t.text, "!, identifier, or 'end of string'");
    }
    const sep = next();
    if (sep.kind === 'end') break;
    if (sep.kind !== ',') fail(sep.text, "',' or 'end of string'");
  }
  return reqs;
}

/** True when `labels` satisfy every requirement. */
export function matchLabels(
  reqs: readonly LabelRequirement[],
  labels: Record<string, string> | undefined,
): boolean {
  for (const r of reqs) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const v = has ? labels[r.key] : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case '=':
        if (v !== r.values[0]) return false;
        break;
      case '!=':
        if (v === r.values[0]) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case '>':
      case '<': {
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        const a = Number(v);
        const b = Number(r.values[0]);
        if (r.op === '>' ? !(a > b) : !(a < b)) return false;
        break;
      }
    }
  }
  return true;
}

/** Splits on unescaped `sep` and removes the escapes of `\,`, `\=` and `\\`. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + (s[i + 1] as string);
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

function unescapeSelector(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** Finds the first unescaped `=`, `==` or `!=` in one field requirement. */
function splitRequirement(part: string): { field: string; op: '=' | '!='; value: string } | undefined {
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === '\\') {
      i++;
    } else if (c === '!' && part[i + 1] === '=') {
      return { field: part.slice(0, i).trim(), op: '!=', value: part.slice(i + 2) };
    } else if (c === '=') {
      const len = part[i + 1] === '=' ? 2 : 1;
      return { field: part.slice(0, i).trim(), op: '=', value: part.slice(i + len) };
    }
  }
  return undefined;
}

/**
 * Parses a field selector (`metadata.name=x,spec.nodeName!=y`) and checks every field is one
 * `allowed` (400 `field label not supported: <f>` otherwise, as the real server answers).
 */
export function parseFieldSelector(s: string, allowed: readonly string[]): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (s.trim() === '') return out;
  for (const part of splitEscaped(s, ',')) {
    const r = splitRequirement(part);
    if (r === undefined) throw ApiError.badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    if (!allowed.includes(r.field)) throw ApiError.badRequest(`field label not supported: ${r.field}`);
    out.push({ field: r.field, op: r.op, value: unescapeSelector(r.value) });
  }
  return out;
}

/** Reads a dotted field path from an object and renders it as the server's field-set string. */
export function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (!isJsonObject(cur) && !isJsonObject(cur as object)) return '';
    cur = (cur as Record<string, unknown>)[seg];
    if (cur === undefined || cur === null) return path === 'spec.unschedulable' ? 'false' : '';
  }
  return typeof cur === 'string'
    ? cur
    : typeof cur === 'number' || typeof cur === 'boolean'
      ? String(cur)
      : '';
}

/** True when `obj` satisfies every field requirement. */
export function matchFields(reqs: readonly FieldRequirement[], obj: KubeObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
