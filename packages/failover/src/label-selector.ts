/** One requirement of a Kubernetes label selector. */
export interface LabelSelectorRequirementLike {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | null | undefined;
}

/** A Kubernetes label selector (`matchLabels` AND every `matchExpressions` entry). */
export interface LabelSelectorLike {
  readonly matchLabels?: Readonly<Record<string, string>> | null | undefined;
  readonly matchExpressions?: readonly LabelSelectorRequirementLike[] | null | undefined;
}

/** A selector checked once: either a matcher or the reason it is invalid. */
export type CompiledSelector =
  | { readonly ok: true; readonly matches: (labels: Readonly<Record<string, string>>) => boolean }
  | { readonly ok: false; readonly message: string };

/**
 * Compiles a label selector with Kubernetes semantics: an empty selector matches everything,
 * `In`/`NotIn` need at least one value, `Exists`/`DoesNotExist` take none, `NotIn` matches a
 * missing key. Invalid selectors are returned as such (they select nothing) instead of throwing.
 */
export function compileSelector(selector: LabelSelectorLike): CompiledSelector {
  const checks: Array<(labels: Readonly<Record<string, string>>) => boolean> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    checks.push((labels) => Object.hasOwn(labels, key) && labels[key] === value);
  }
  for (const [i, req] of (selector.matchExpressions ?? []).entries()) {
    const values = req.values ?? [];
    const set = new Set(values);
    const key = req.key;
    const has = (labels: Readonly<Record<string, string>>) => Object.hasOwn(labels, key);
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          return { ok: false, message: `matchExpressions[${i}]: ${req.operator} needs values` };
        checks.push(
          req.operator === 'In'
            ? (labels) => has(labels) && set.has(labels[key] as string)
            : (labels) => !has(labels) || !set.has(labels[key] as string),
        );
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0)
          return { ok: false, message: `matchExpressions[${i}]: ${req.operator} takes no values` };
        checks.push(req.operator === 'Exists' ? has : (labels) => !has(labels));
        break;
      default:
        return {
          ok: false,
          message: `matchExpressions[${i}]: unknown operator ${JSON.stringify(req.operator)}`,
        };
    }
  }
  return { ok: true, matches: (labels) => checks.every((check) => check(labels)) };
}

/**
 * Label pairs that every matching object must carry (`matchLabels` and single-valued `In`), used to
 * look candidates up in an index instead of scanning every node.
 */
export function requiredLabelAlternatives(selector: LabelSelectorLike): Array<Array<[string, string]>> {
  const alternatives: Array<Array<[string, string]>> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) alternatives.push([[key, value]]);
  for (const req of selector.matchExpressions ?? []) {
    if (req.operator === 'In' && (req.values ?? []).length > 0) {
      alternatives.push((req.values ?? []).map((v) => [req.key, v]));
    }
  }
  return alternatives;
}
