import { compileSelector as compile, type LabelSelectorLike } from '@egressgateway/netaddr';

export type { LabelSelectorLike, LabelSelectorRequirementLike } from '@egressgateway/netaddr';
export { requiredLabelAlternatives } from '@egressgateway/netaddr';

/** A selector checked once: either a matcher or the reason it is invalid (it then selects nothing). */
export type CompiledSelector =
  | { readonly ok: true; readonly matches: (labels: Readonly<Record<string, string>>) => boolean }
  | { readonly ok: false; readonly message: string };

/**
 * The engine's shape of `@egressgateway/netaddr`'s `compileSelector` (Kubernetes' rules: an unknown
 * operator, `In` without values or a bad key is invalid and selects nothing).
 */
export function compileSelector(selector: LabelSelectorLike): CompiledSelector {
  const r = compile(selector);
  return r.ok ? { ok: true, matches: (labels) => r.value.matches(labels) } : { ok: false, message: r.error };
}
