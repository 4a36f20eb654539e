import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { joinPath, type ValidationError } from './errors.js';

/** `/spec/ippools/ipv4/0` -> `spec.ippools.ipv4[0]`. */
function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<string>((acc, seg) => (/^\d+$/.test(seg) ? joinPath(acc, Number(seg)) : joinPath(acc, seg)), '');
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

interface RawError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** Compiles a schema once into a function that returns readable errors with field paths. */
export function schemaChecker(schema: TSchema): (value: unknown) => ValidationError[] {
  const compiled = Compile(schema);
  return (value) => {
    if (compiled.Check(value)) return [];
    const out: ValidationError[] = [];
    for (const e of compiled.Errors(value) as Iterable<RawError>) {
      const path = pointerToPath(e.instancePath);
      switch (e.keyword) {
        case 'boolean':
          // Reported again, with the field name, by the additionalProperties error.
          break;
        case 'additionalProperties':
          for (const f of (e.params.additionalProperties as string[] | undefined) ?? []) {
            out.push({
              path: joinPath(path, f),
              message: `unknown field "${f}": remove it or check its spelling`,
            });
          }
          break;
        case 'required':
          for (const f of (e.params.requiredProperties as string[] | undefined) ?? []) {
            out.push({ path: joinPath(path, f), message: 'Required value: set this field' });
          }
          break;
        case 'type': {
          const t = String(e.params.type);
          out.push({ path, message: `must be ${TYPE_WORDS[t] ?? t}` });
          break;
        }
        case 'enum':
          out.push({
            path,
            message: `unsupported value: use one of ${((e.params.allowedValues as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}`,
          });
          break;
        case 'format':
          out.push({
            path,
            message:
              e.params.format === 'date-time'
                ? 'must be an RFC 3339 time such as 2023-11-27T12:04:56.123Z'
                : `must match format ${String(e.params.format)}`,
          });
          break;
        default:
          out.push({ path, message: e.message });
      }
    }
    return out;
  };
}
