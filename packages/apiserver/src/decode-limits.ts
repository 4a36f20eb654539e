import { ApiError } from './errors.js';

/**
 * Deepest nesting accepted in a request body (JSON, YAML and every patch type). kube-apiserver
 * allows 10,000 for JSON; this server stops at 1,000 because its validation and patch code is
 * recursive JavaScript on Node's default stack, and no Kubernetes object comes near it (the
 * deepest built-in schemas nest a few dozen levels).
 */
export const MAX_NESTING_DEPTH = 1000;

function tooDeep(what: string, limit: number): ApiError {
  return ApiError.badRequest(
    `${what}: nesting depth exceeds the limit of ${limit} (maxNestingDepth); flatten the object`,
  );
}

/**
 * Refuses JSON nested deeper than `limit` with a linear scan of brackets outside strings, before
 * `JSON.parse` and the recursive code after it see the text. Malformed JSON is left to the parser.
 */
export function checkJsonDepth(text: string, what: string, limit = MAX_NESTING_DEPTH): void {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) throw tooDeep(what, limit);
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t';
/** In flow context: whether position `i` follows an indicator (or starts the line), i.e. starts a token. */
function flowTokenStart(line: string, i: number): boolean {
  let j = i - 1;
  while (j >= 0 && isSpace(line[j])) j--;
  return j < 0 || '[{,:?'.includes(line[j] as string);
}

/**
 * Refuses YAML nested deeper than `limit` before the `yaml` library parses it (its parser is
 * recursive and, at a hundred thousand levels, runs Node out of memory). One linear pass counts
 * flow nesting (`[`, `{` outside quoted scalars) plus block nesting (the stack of indentation
 * levels, where each `- ` or `? ` at the start of a line opens one more level), skipping comments
 * and block scalars (`|`, `>`). It over-counts rather than under-counts: text it cannot tell apart
 * from nesting counts as nesting.
 */
export function checkYamlDepth(text: string, what: string, limit = MAX_NESTING_DEPTH): void {
  const lines = text.split(/\r?\n/);
  const indents: number[] = [];
  let flow = 0;
  /** Inside a quoted scalar spanning lines: the quote character. */
  let quote: string | undefined;
  /** Column of the node owning an open block scalar: deeper (or blank) lines are its text. */
  let blockScalarOf: number | undefined;
  for (const line of lines) {
    let i = 0;
    while (line[i] === ' ') i++;
    /** Column of the node a block scalar on this line would belong to (key, or entry indicator). */
    let nodeCol = i;
    let tokenCol = i;
    if (blockScalarOf !== undefined) {
      if (i >= line.length || i > blockScalarOf) continue;
      blockScalarOf = undefined;
    }
    if (quote === undefined && flow === 0) {
      if (i >= line.length || line[i] === '#') continue;
      if (line.startsWith('---', i) || line.startsWith('...', i)) {
        indents.length = 0;
        continue;
      }
      while (indents.length > 0 && (indents.at(-1) as number) >= i) indents.pop();
      indents.push(i);
      // Compact nesting on one line: `- - - x`, `? ? x`.
      while ((line[i] === '-' || line[i] === '?') && (i + 1 === line.length || isSpace(line[i + 1]))) {
        nodeCol = i;
        i++;
        while (isSpace(line[i])) i++;
        indents.push(i);
      }
      if (indents.length > limit) throw tooDeep(what, limit);
    }
    // Block context: does the next character start a value (`start`) or lie in a plain scalar?
    let plain = false;
    for (; i < line.length; i++) {
      const c = line[i] as string;
      if (quote !== undefined) {
        if (quote === '"' && c === '\\') i++;
        else if (c === quote) {
          if (quote === "'" && line[i + 1] === "'") i++;
          else {
            quote = undefined;
            plain = true;
          }
        }
        continue;
      }
      if (c === '#' && (i === 0 || isSpace(line[i - 1]))) break;
      if (flow > 0) {
        if ((c === '"' || c === "'") && flowTokenStart(line, i)) quote = c;
        else if ((c === '[' || c === '{') && flowTokenStart(line, i)) {
          if (++flow + indents.length > limit) throw tooDeep(what, limit);
        } else if (c === ']' || c === '}') {
          flow--;
          plain = true;
        }
        continue;
      }
      if (plain) {
        // `key: value`: after the `:` a new value starts.
        if (c === ':' && (i + 1 === line.length || isSpace(line[i + 1]))) {
          plain = false;
          nodeCol = tokenCol;
        }
        continue;
      }
      if (isSpace(c)) continue;
      if ((c === '-' || c === '?' || c === ':') && (i + 1 === line.length || isSpace(line[i + 1]))) {
        if (c !== ':') nodeCol = i;
        continue;
      }
      if (c === '&' || c === '!') {
        while (i + 1 < line.length && !isSpace(line[i + 1])) i++;
        continue;
      }
      tokenCol = i;
      if (c === '"' || c === "'") quote = c;
      else if (c === '[' || c === '{') {
        if (++flow + indents.length > limit) throw tooDeep(what, limit);
      } else if ((c === '|' || c === '>') && /^[|>][-+0-9]*\s*(#.*)?$/.test(line.slice(i))) {
        blockScalarOf = nodeCol;
        break;
      } else plain = true;
    }
  }
}
