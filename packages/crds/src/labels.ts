/** A Kubernetes label selector (`metav1.LabelSelector`). */
export interface LabelSelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: LabelSelectorRequirement[] | undefined;
}

/** One `matchExpressions` entry. */
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[] | undefined;
}

const NAME_PART = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Checks a label key (`[prefix/]name`, name ≤ 63 chars, prefix a DNS subdomain ≤ 253 chars).
 * Returns a message saying what is wrong, or `undefined` when valid.
 */
export function labelKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}" has an invalid prefix: it must be a lower-case DNS subdomain such as example.com`;
  }
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `label key "${key}" is invalid: the name part must be 1-63 characters of [A-Za-z0-9-_.], starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** Checks a label value (empty, or ≤ 63 chars of `[A-Za-z0-9-_.]` starting and ending alphanumeric). */
export function labelValueError(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME_PART.test(value)) {
    return `label value "${value}" is invalid: use at most 63 characters of [A-Za-z0-9-_.], starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** Checks an object name as a DNS subdomain (≤ 253 chars, lower case). */
export function dnsSubdomainError(name: string): string | undefined {
  if (name.length === 0) return 'name is empty: set metadata.name';
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return `"${name}" is not a valid name: use lower-case letters, digits, '-' and '.', starting and ending with an alphanumeric`;
  }
  return undefined;
}

/** A selector problem with its path relative to the selector. */
export interface SelectorIssue {
  readonly path: string;
  readonly message: string;
}

/** Checks a label selector's syntax; returns every problem with its relative path. */
export function selectorIssues(selector: LabelSelector): SelectorIssue[] {
  const issues: SelectorIssue[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    const ke = labelKeyError(k);
    if (ke) issues.push({ path: `matchLabels[${k}]`, message: ke });
    const ve = typeof v === 'string' ? labelValueError(v) : `value of "${k}" must be a string`;
    if (ve) issues.push({ path: `matchLabels[${k}]`, message: ve });
  }
  (selector.matchExpressions ?? []).forEach((e, i) => {
    const base = `matchExpressions[${i}]`;
    const ke = labelKeyError(e.key);
    if (ke) issues.push({ path: `${base}.key`, message: ke });
    const values = e.values ?? [];
    if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
      issues.push({ path: `${base}.values`, message: `operator ${e.operator} needs at least one value` });
    }
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
      issues.push({ path: `${base}.values`, message: `operator ${e.operator} takes no values: remove them` });
    }
    values.forEach((v, j) => {
      const ve = labelValueError(v);
      if (ve) issues.push({ path: `${base}.values[${j}]`, message: ve });
    });
  });
  return issues;
}

/**
 * True when `labels` satisfy the selector (all matchLabels and all expressions). An empty
 * selector matches everything, as in Kubernetes.
 */
export function matchesSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const value = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
