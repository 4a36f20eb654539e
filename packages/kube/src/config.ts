import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';

/** A setting that is wrong, with where it came from and how to fix it. */
export class ConfigError extends Error {
  readonly code = 'EGW_CONFIG';
  constructor(
    readonly key: string,
    readonly source: string,
    message: string,
  ) {
    super(`${key} (from ${source}): ${message}`);
    this.name = 'ConfigError';
  }
}

/** Turns a raw value (string from a flag or env, any YAML value from the file) into the setting. */
export type Parser<T> = (raw: unknown) => T;

/** One setting, readable from a flag, an environment variable and the YAML config file. */
export interface OptionSpec<T = unknown> {
  /** Name in the config file and in Helm values, e.g. `tunnelUpdatePeriod`. */
  key: string;
  /** Long flag without value placeholder, e.g. `--tunnel-update-period`. */
  flag: string;
  /** Environment variable, e.g. `EGW_TUNNEL_UPDATE_PERIOD`. */
  env: string;
  description: string;
  parse: Parser<T>;
  default?: T;
  /** Placeholder shown in --help, e.g. `<seconds>` (default `<value>`). */
  placeholder?: string;
}

/** Helper to keep the value type of each spec. */
export const option = <T>(spec: OptionSpec<T>): OptionSpec<T> => spec;

/** Value types of a spec table. */
export type ConfigOf<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

/** Parsers for the usual setting types; each throws a message that says what is expected. */
export const parsers = {
  /** Seconds (fractional allowed, > 0) as milliseconds. */
  secondsToMs: (raw: unknown): number => {
    const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`"${String(raw)}" is not a positive number of seconds`);
    return Math.round(n * 1000);
  },
  string: (raw: unknown): string => {
    if (typeof raw !== 'string' && typeof raw !== 'number')
      throw new Error(`"${String(raw)}" is not a string`);
    return String(raw);
  },
  boolean: (raw: unknown): boolean => {
    if (typeof raw === 'boolean') return raw;
    const s = String(raw).toLowerCase();
    if (['true', '1', 'yes'].includes(s)) return true;
    if (['false', '0', 'no'].includes(s)) return false;
    throw new Error(`"${String(raw)}" is not true or false`);
  },
  positiveInt: (raw: unknown): number => {
    const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`"${String(raw)}" is not a positive integer`);
    return n;
  },
  oneOf:
    <const V extends readonly string[]>(values: V) =>
    (raw: unknown): V[number] => {
      const s = String(raw);
      if (!values.includes(s)) throw new Error(`"${s}" is not one of ${values.join(', ')}`);
      return s as V[number];
    },
  /** A comma-separated string or a YAML list. */
  list: (raw: unknown): string[] =>
    (Array.isArray(raw) ? raw.map(String) : String(raw).split(','))
      .map((s) => s.trim())
      .filter((s) => s !== ''),
};

/** Declares every spec as a commander option (values stay raw strings until {@link resolveConfig}). */
export function addOptions(program: Command, specs: Record<string, OptionSpec>): Command {
  for (const spec of Object.values(specs)) {
    // Seconds are stored as ms; show the default in the unit the flag takes.
    const shown =
      spec.parse === parsers.secondsToMs && typeof spec.default === 'number'
        ? spec.default / 1000
        : spec.default;
    const def = shown === undefined ? '' : ` (default ${JSON.stringify(shown)})`;
    program.option(
      `${spec.flag} ${spec.placeholder ?? '<value>'}`,
      `${spec.description} [env ${spec.env}]${def}`,
    );
  }
  return program;
}

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Reads a YAML config file (keys are the settings' `key`s; a Helm-style `feature:` section works too). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', path, `cannot read the file: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('config', path, `not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError('config', path, 'must be a YAML mapping');
  const d = doc as Record<string, unknown>;
  const feature = d.feature && typeof d.feature === 'object' ? (d.feature as Record<string, unknown>) : {};
  return { ...feature, ...d };
}

/**
 * Resolves every setting with the precedence flag > environment > config file > default, and
 * parses it. All problems are collected and thrown together, each naming the setting and where
 * its bad value came from. Unknown keys in the file are reported too (typos would otherwise be
 * silently ignored).
 */
export function resolveConfig<S extends Record<string, OptionSpec>>(
  specs: S,
  sources: {
    flags?: Record<string, unknown>;
    env?: Record<string, string | undefined>;
    file?: Record<string, unknown>;
    fileName?: string;
  },
): ConfigOf<S> {
  const errors: ConfigError[] = [];
  const out: Record<string, unknown> = {};
  const known = new Set(Object.values(specs).map((s) => s.key));
  for (const k of Object.keys(sources.file ?? {})) {
    if (!known.has(k) && k !== 'feature') {
      errors.push(
        new ConfigError(
          k,
          sources.fileName ?? 'config file',
          `unknown setting: use one of ${[...known].join(', ')}`,
        ),
      );
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    const flagValue = sources.flags?.[camel(spec.flag)];
    const envValue = sources.env?.[spec.env];
    const fileValue = sources.file?.[spec.key];
    const [raw, source] =
      flagValue !== undefined
        ? [flagValue, spec.flag]
        : envValue !== undefined && envValue !== ''
          ? [envValue, `env ${spec.env}`]
          : fileValue !== undefined
            ? [fileValue, sources.fileName ?? 'config file']
            : [undefined, 'default'];
    if (raw === undefined) {
      out[name] = spec.default;
      continue;
    }
    try {
      out[name] = spec.parse(raw);
    } catch (err) {
      errors.push(new ConfigError(spec.key, source, (err as Error).message));
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    const e = new ConfigError('config', 'several sources', errors.map((x) => x.message).join('; '));
    throw e;
  }
  return out as ConfigOf<S>;
}
