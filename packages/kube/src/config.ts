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

/**
 * Keys of upstream EgressGateway's config file (its chart's `conf.yml`, which is the values'
 * `feature` tree) that have an equivalent here, as dotted paths, and the setting they set.
 */
export const UPSTREAM_CONFIG_KEYS: Readonly<Record<string, string>> = {
  'gatewayFailover.tunnelMonitorPeriod': 'tunnelMonitorPeriod',
  'gatewayFailover.tunnelUpdatePeriod': 'tunnelUpdatePeriod',
  'gatewayFailover.eipEvictionTimeout': 'eipEvictionTimeout',
  tunnelIpv4Subnet: 'tunnelIpv4Cidr',
  tunnelIpv6Subnet: 'tunnelIpv6Cidr',
  'vxlan.name': 'tunnelDevice',
  'vxlan.port': 'tunnelPort',
  'vxlan.id': 'tunnelVni',
};

/**
 * Upstream keys accepted without effect, with the reason a user reads in the start-up warning.
 * A key ending in `.*` covers everything under it.
 */
export const UPSTREAM_CONFIG_NOT_APPLIED: Readonly<Record<string, string>> = {
  'gatewayFailover.enable': 'heartbeat failover is always on here',
  enableIPv4: 'IPv4 is always on here',
  datapathMode: 'the datapath is nftables only',
  'iptables.*': 'the datapath is nftables only',
  'vxlan.disableChecksumOffload': 'no equivalent yet',
  tunnelDetectMethod: 'use --egress-interface (default: the default-route interface)',
  tunnelDetectCustomInterface: 'use --egress-interface per node',
  enableGatewayReplyRoute: 'no equivalent yet',
  gatewayReplyRouteTable: 'no equivalent yet',
  gatewayReplyRouteMark: 'no equivalent yet',
  'clusterCIDR.*': 'EgressClusterInfo is not filled by the controller yet',
  maxNumberEndpointPerSlice: 'no endpoint slices here',
  announcedInterfacesToExclude: 'no equivalent yet',
  mark: 'the mark range is fixed (0x26000000)',
};

/** A config file read: values by our keys, and upstream keys that were accepted but not applied. */
export interface ConfigFile {
  values: Record<string, unknown>;
  /** Upstream keys without an equivalent (or a value we cannot honour), with the reason. */
  notApplied: Array<{ key: string; reason: string }>;
}

function notAppliedReason(path: string): string | undefined {
  if (UPSTREAM_CONFIG_NOT_APPLIED[path] !== undefined) return UPSTREAM_CONFIG_NOT_APPLIED[path];
  for (const [k, reason] of Object.entries(UPSTREAM_CONFIG_NOT_APPLIED))
    if (k.endsWith('.*') && path.startsWith(k.slice(0, -1))) return reason;
  return undefined;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Maps a parsed config document to our keys. It may be our own layout (`tunnelUpdatePeriod: 1`),
 * upstream's `conf.yml` (the `feature` tree: `gatewayFailover.tunnelUpdatePeriod`,
 * `tunnelIpv4Subnet`, `vxlan.port`, …) or a values file with a `feature:` section; our own keys
 * win over upstream's when both are given. Unknown keys stay in `values` for the resolver to
 * report. Pure.
 */
export function mapConfigDocument(doc: Record<string, unknown>): ConfigFile {
  const tree = { ...(isMap(doc.feature) ? doc.feature : {}), ...doc };
  delete tree.feature;
  const values: Record<string, unknown> = {};
  const fromUpstream: Record<string, unknown> = {};
  const notApplied: ConfigFile['notApplied'] = [];
  const off = (v: unknown) => v === false || v === 'false';
  let ipv6Off = false;
  const visit = (prefix: string, obj: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const ours = UPSTREAM_CONFIG_KEYS[path];
      if (ours !== undefined) fromUpstream[ours] = v;
      // Upstream's IPv6 switch: off means no IPv6 tunnel, as an empty tunnel IPv6 CIDR here.
      else if (path === 'enableIPv6') {
        if (off(v)) ipv6Off = true;
      } else if (path === 'gatewayFailover.enable' || path === 'enableIPv4') {
        // Both are always on here: only switching them off is a setting we cannot honour.
        if (off(v)) notApplied.push({ key: path, reason: notAppliedReason(path) ?? '' });
      } else if (notAppliedReason(path) !== undefined)
        notApplied.push({ key: path, reason: notAppliedReason(path) ?? '' });
      else if (
        isMap(v) &&
        (UPSTREAM_CONFIG_NOT_APPLIED[`${path}.*`] !== undefined ||
          Object.keys(UPSTREAM_CONFIG_KEYS).some((u) => u.startsWith(`${path}.`)))
      )
        visit(path, v);
      else values[path] = v;
    }
  };
  visit('', tree);
  // With enableIPv6 off upstream ignores tunnelIpv6Subnet: the switch wins.
  if (ipv6Off) fromUpstream.tunnelIpv6Cidr = '';
  return { values: { ...fromUpstream, ...values }, notApplied };
}

/** Reads a YAML config file in our layout or upstream's (see {@link mapConfigDocument}). */
export function loadConfigFile(path: string): ConfigFile {
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
  if (doc === null || doc === undefined) return { values: {}, notApplied: [] };
  if (!isMap(doc)) throw new ConfigError('config', path, 'must be a YAML mapping');
  return mapConfigDocument(doc);
}

/** The values of {@link loadConfigFile}, for callers that do not report unapplied keys. */
export function readConfigFile(path: string): Record<string, unknown> {
  return loadConfigFile(path).values;
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
    /**
     * Keys of the file that other apps read (the controller and agent share one ConfigMap):
     * ignored here instead of reported as unknown.
     */
    otherAppsKeys?: readonly string[];
  },
): ConfigOf<S> {
  const errors: ConfigError[] = [];
  const out: Record<string, unknown> = {};
  const known = new Set(Object.values(specs).map((s) => s.key));
  const elsewhere = new Set(sources.otherAppsKeys ?? []);
  for (const k of Object.keys(sources.file ?? {})) {
    if (!known.has(k) && !elsewhere.has(k) && k !== 'feature') {
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
