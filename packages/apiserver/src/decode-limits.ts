import { ApiError } from './errors.js';

/**
 * Deepest nesting of `[` and `{` a request body or patch may have. kube-apiserver's JSON decoder
 * stops at 10,000; real objects nest a few dozen levels, and the recursive steps after decoding
 * (pruning, defaulting, patching, comparing) must stay far from the stack limit, so the bound here
 * is lower.
 */
export const MAX_NESTING_DEPTH = 1_000;

/**
 * Refuses text whose `[`/`{` nesting goes deeper than `max`, in one linear pass before any parser
 * sees it (a YAML parser given 100,000 nested `[` runs out of memory; a JSON one overflows the
 * stack later). Brackets inside double- and single-quoted strings do not count; a bracket inside a
 * YAML plain scalar does (harmless at this bound).
 */
export function checkNesting(text: string, max = MAX_NESTING_DEPTH): void {
  let depth = 0;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote === '"') {
      if (c === 92 /* \\ */) i++;
      else if (c === 34) quote = undefined;
      continue;
    }
    if (quote === "'") {
      if (c === 39) quote = undefined; // '' (an escaped quote) closes and reopens: same effect
      continue;
    }
    if (c === 34) quote = '"';
    else if (c === 39) {
      // In YAML a quote starts a string only at the start of a scalar; inside plain text (it's) it is
      // a character. Count it as a string start only after a separator.
      const prev = i === 0 ? 32 : text.charCodeAt(i - 1);
      if (
        prev === 32 ||
        prev === 9 ||
        prev === 10 ||
        prev === 13 ||
        prev === 91 ||
        prev === 123 ||
        prev === 44 ||
        prev === 58
      )
        quote = "'";
    } else if (c === 91 || c === 123) {
      depth++;
      if (depth > max)
        throw ApiError.badRequest(
          `the object provided is unrecognized: error decoding body: nesting exceeded max depth of ${max}`,
        );
    } else if (c === 93 || c === 125) {
      if (depth > 0) depth--;
    }
  }
}
