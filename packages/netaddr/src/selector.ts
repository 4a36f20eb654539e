/**
 * Kubernetes label selectors (`metav1.LabelSelector`) with the API server's rules: a selector that
 * Kubernetes would refuse (unknown operator, `In` without values, a bad key or value) is an error
 * that the caller reports, and it never matches anything.
 */
import { err, ok, type Result } from './result.js';

/** One `matchExpressions` entry. `operator` is a string: input may carry operators Kubernetes refuses. */
export interface LabelSelectorRequirementLike {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | null | undefined;
}

/** A label selector: every `matchLabels` pair AND every `matchExpressions` entry. */
export interface LabelSelectorLike {
  readonly matchLabels?: Readonly<Record<string, string>> | null | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirementLike[] | null | undefined;
}

/** The labels of an object. */
export type Labels = Readonly<Record<string, string>>;

/** One problem of a selector, with its path relative to the selector (`matchExpressions[0].operator`). */
export interface SelectorIssue {
  readonly path: string;
  readonly message: string;
}

/** A checked selector. */
export interface SelectorMatcher {
  /** True when the labels satisfy every requirement; missing labels are no labels. */
  matches(labels: Labels | undefined | null): boolean;
}

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/**
 * Checks a label key (`[prefix/]name`: name 1-63 characters of `[A-Za-z0-9-_.]` starting and ending
 * alphanumeric, prefix a lower-case DNS subdomain of at most 253 characters).
 */
export function checkLabelKey(key: string): Result<string> {
  if (typeof key !== 'string') return err(`a label key must be text, got ${typeof key}`);
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return err(
      `label key ${JSON.stringify(key)} has an invalid prefix: it must be a lower-case DNS subdomain such as example.com`,
    );
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return err(
      `label key ${JSON.stringify(key)} is invalid: the name part must be 1-63 characters of [A-Za-z0-9-_.], starting and ending with an alphanumeric`,
    );
  }
  return ok(key);
}

/** Checks a label value: empty, or at most 63 characters of `[A-Za-z0-9-_.]` starting and ending alphanumeric. */
export function checkLabelValue(value: string): Result<string> {
  if (typeof value !== 'string') return err(`a label value must be text, got ${typeof value}`);
  if (value === '') return ok(value);
  if (value.length > 63 || !NAME_PART.test(value)) {
    return err(
      `label value ${JSON.stringify(value)} is invalid: use at most 63 characters of [A-Za-z0-9-_.], starting and ending with an alphanumeric`,
    );
  }
  return ok(value);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Every problem of a selector, each with its path relative to the selector; empty when Kubernetes
 * would accept it. {@link compileSelector} refuses a selector with any issue.
 */
export function selectorIssues(selector: LabelSelectorLike): SelectorIssue[] {
  const issues: SelectorIssue[] = [];
  if (!isRecord(selector)) return [{ path: '', message: 'a label selector must be an object' }];
  const labels: unknown = selector.matchLabels;
  if (labels !== undefined && labels !== null) {
    if (!isRecord(labels))
      issues.push({ path: 'matchLabels', message: 'must be a map of label keys to values' });
    else {
      for (const [k, v] of Object.entries(labels)) {
        const path = `matchLabels[${k}]`;
        const ke = checkLabelKey(k);
        if (!ke.ok) issues.push({ path, message: ke.error });
        if (typeof v !== 'string')
          issues.push({ path, message: `the value of ${JSON.stringify(k)} must be text` });
        else {
          const ve = checkLabelValue(v);
          if (!ve.ok) issues.push({ path, message: ve.error });
        }
      }
    }
  }
  const exprs: unknown = selector.matchExpressions;
  if (exprs === undefined || exprs === null) return issues;
  if (!Array.isArray(exprs)) {
    issues.push({ path: 'matchExpressions', message: 'must be a list of requirements' });
    return issues;
  }
  exprs.forEach((e: unknown, i) => {
    const base = `matchExpressions[${i}]`;
    if (!isRecord(e)) {
      issues.push({ path: base, message: 'must be an object with key, operator and values' });
      return;
    }
    const ke = checkLabelKey(e.key as string);
    if (!ke.ok) issues.push({ path: `${base}.key`, message: ke.error });
    const op = e.operator;
    const rawValues: unknown = e.values ?? [];
    if (!Array.isArray(rawValues)) {
      issues.push({ path: `${base}.values`, message: 'must be a list of label values' });
      return;
    }
    if (!OPERATORS.includes(op as (typeof OPERATORS)[number])) {
      issues.push({
        path: `${base}.operator`,
        message: `${JSON.stringify(op)} is not a valid operator: use In, NotIn, Exists or DoesNotExist`,
      });
    } else if ((op === 'In' || op === 'NotIn') && rawValues.length === 0) {
      issues.push({ path: `${base}.values`, message: `operator ${op} needs at least one value` });
    } else if ((op === 'Exists' || op === 'DoesNotExist') && rawValues.length > 0) {
      issues.push({ path: `${base}.values`, message: `operator ${op} takes no values: remove them` });
    }
    rawValues.forEach((v: unknown, j) => {
      const ve = checkLabelValue(v as string);
      if (!ve.ok) issues.push({ path: `${base}.values[${j}]`, message: ve.error });
    });
  });
  return issues;
}

type Check = (labels: Labels) => boolean;

/**
 * Checks a selector once and returns its matcher, or the first problem (path and message) when
 * Kubernetes would refuse it. An empty selector matches everything; `NotIn` and `DoesNotExist`
 * match an object without the key.
 *
 * @example
 * ```ts
 * const s = compileSelector({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] });
 * if (s.ok) s.value.matches({ zone: 'a' }); // true
 * compileSelector({ matchExpressions: [{ key: 'zone', operator: 'Gt', values: ['1'] }] }).ok; // false
 * ```
 */
export function compileSelector(selector: LabelSelectorLike): Result<SelectorMatcher> {
  const issues = selectorIssues(selector);
  if (issues.length > 0) {
    const first = issues[0] as SelectorIssue;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    return err(`${first.path === '' ? '' : `${first.path}: `}${first.message}${more}`);
  }
  const checks: Check[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    checks.push((labels) => Object.hasOwn(labels, key) && labels[key] === value);
  }
  for (const req of selector.matchExpressions ?? []) {
    const key = req.key;
    const set = new Set(req.values ?? []);
    const has = (labels: Labels) => Object.hasOwn(labels, key);
    switch (req.operator) {
      case 'In':
        checks.push((labels) => has(labels) && set.has(labels[key] as string));
        break;
      case 'NotIn':
        checks.push((labels) => !has(labels) || !set.has(labels[key] as string));
        break;
      case 'Exists':
        checks.push(has);
        break;
      default:
        checks.push((labels) => !has(labels));
    }
  }
  return ok({ matches: (labels) => checks.every((check) => check(labels ?? {})) });
}

/**
 * Label pairs of which every matching object must carry at least one per inner list (`matchLabels`
 * and `In`), to look candidates up in an index instead of scanning every object.
 */
export function requiredLabelAlternatives(selector: LabelSelectorLike): Array<Array<[string, string]>> {
  const alternatives: Array<Array<[string, string]>> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) alternatives.push([[key, value]]);
  for (const req of selector.matchExpressions ?? []) {
    if (req.operator === 'In' && (req.values ?? []).length > 0) {
      alternatives.push((req.values ?? []).map((v): [string, string] => [req.key, v]));
    }
  }
  return alternatives;
}
