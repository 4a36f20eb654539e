import type { Command } from 'commander';

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
  /**
   * Upstream EgressGateway's environment variable for the same setting, as its chart sets it
   * (`LOG_LEVEL`, `HEALTH_PROBE_BIND_ADDRESS`, …). Read after {@link OptionSpec.env}: when both
   * are set, ours wins, so an `EGW_*` variable added beside upstream's chart env overrides it.
   */
  upstreamEnv?: string;
  /** Parser for the upstream variable when its vocabulary differs (`LOG_ENCODER=console`); default `parse`. */
  parseUpstream?: Parser<T>;
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
    const env = spec.upstreamEnv ? `${spec.env}, then upstream's ${spec.upstreamEnv}` : spec.env;
    program.option(`${spec.flag} ${spec.placeholder ?? '<value>'}`, `${spec.description} [env ${env}]${def}`);
  }
  return program;
}

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Edit distance between two strings (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The known key closest to a misspelt one (case-insensitive), when it is close enough to be the
 * likely intent: at most a quarter of its length away, and at least 2 edits allowed.
 */
export function nearestKey(key: string, candidates: Iterable<string>): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(key.toLowerCase(), c.toLowerCase());
    if (!best || d < best.d) best = { key: c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 4)) ? best.key : undefined;
}

/** Where a raw value came from, for error messages. */
type Source = { raw: unknown; source: string; upstream: boolean };

/**
 * Resolves every setting with the precedence flag > our environment variable > upstream's
 * environment variable > config file > default, and parses it. All problems are collected and
 * thrown together, each naming the setting (as written in its source) and where its bad value
 * came from. Unknown keys in the file are errors that name the likely intended key (typos
 * would otherwise be silently ignored).
 *
 * @example
 * const s = resolveConfig(specs, { flags: program.opts(), env: process.env, file: { tunnelUpdatePeriod: 2 } });
 */
export function resolveConfig<S extends Record<string, OptionSpec>>(
  specs: S,
  sources: {
    flags?: Record<string, unknown>;
    env?: Record<string, string | undefined>;
    /** The config file's values by our keys (see `loadConfigFile`). */
    file?: Record<string, unknown>;
    fileName?: string;
    /**
     * For each key of `file`, the key as written in the file when it differs (an upstream key
     * such as `gatewayFailover.eipEvictionTimeout`), so errors name what the user wrote.
     */
    fileOrigins?: Record<string, string>;
    /**
     * Keys of the file that other apps read (the controller and agent share one ConfigMap):
     * ignored here instead of reported as unknown.
     */
    otherAppsKeys?: readonly string[];
    /** More valid spellings to suggest when a key is unknown (upstream's conf.yml keys). */
    suggest?: readonly string[];
  },
): ConfigOf<S> {
  const errors: ConfigError[] = [];
  const out: Record<string, unknown> = {};
  const known = new Set(Object.values(specs).map((s) => s.key));
  const elsewhere = new Set(sources.otherAppsKeys ?? []);
  const fileName = sources.fileName ?? 'config file';
  for (const k of Object.keys(sources.file ?? {})) {
    if (known.has(k) || elsewhere.has(k)) continue;
    const near = nearestKey(k, [...known, ...elsewhere, ...(sources.suggest ?? [])]);
    errors.push(
      new ConfigError(
        k,
        fileName,
        near
          ? `unknown setting: did you mean ${near}? Fix the name or remove the key`
          : `unknown setting: remove it, or use one of ${[...known].join(', ')} or a key of upstream's conf.yml`,
      ),
    );
  }
  for (const [name, spec] of Object.entries(specs)) {
    const given = (v: unknown): boolean => v !== undefined && v !== '';
    const flagValue = sources.flags?.[camel(spec.flag)];
    const envValue = sources.env?.[spec.env];
    const upstreamValue = spec.upstreamEnv ? sources.env?.[spec.upstreamEnv] : undefined;
    const fileValue = sources.file?.[spec.key];
    const from: Source | undefined =
      flagValue !== undefined
        ? { raw: flagValue, source: spec.flag, upstream: false }
        : given(envValue)
          ? { raw: envValue, source: `env ${spec.env}`, upstream: false }
          : given(upstreamValue)
            ? { raw: upstreamValue, source: `env ${spec.upstreamEnv}`, upstream: true }
            : fileValue !== undefined
              ? { raw: fileValue, source: fileName, upstream: false }
              : undefined;
    if (from === undefined) {
      out[name] = spec.default;
      continue;
    }
    try {
      out[name] = (from.upstream && spec.parseUpstream ? spec.parseUpstream : spec.parse)(from.raw);
    } catch (err) {
      const key = from.source === fileName ? (sources.fileOrigins?.[spec.key] ?? spec.key) : spec.key;
      errors.push(new ConfigError(key, from.source, (err as Error).message));
    }
  }
  throwAll(errors);
  return out as ConfigOf<S>;
}

/** Throws nothing, the one error, or one error that lists them all. */
export function throwAll(errors: readonly ConfigError[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new ConfigError('config', 'several sources', errors.map((x) => x.message).join('; '));
}
