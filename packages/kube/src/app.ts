import { Command } from 'commander';
import {
  addOptions,
  ConfigError,
  type ConfigOf,
  type OptionSpec,
  option,
  parsers,
  resolveConfig,
  throwAll,
} from './config.js';
import { type ConfigFile, loadConfigFile, UPSTREAM_CONFIG_KEYS } from './config-file.js';
import { createLogger, type LogOptions } from './logger.js';
import { parseAddress } from './server.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * Upstream's `LOG_LEVEL` (zap): a level name in any case, or a number, where upstream treats
 * any non-zero number as a debug verbosity and 0 as info. zap's dpanic, panic and fatal log
 * errors only, as `error` does here.
 */
export function parseUpstreamLogLevel(raw: unknown): (typeof LEVELS)[number] {
  const s = String(raw).trim().toLowerCase();
  if (/^[-+]?\d+$/.test(s)) return Number(s) === 0 ? 'info' : 'debug';
  if ((LEVELS as readonly string[]).includes(s)) return s as (typeof LEVELS)[number];
  if (['dpanic', 'panic', 'fatal'].includes(s)) return 'error';
  throw new Error(
    `"${String(raw)}" is not a log level: use debug, info, warn, error (or a zap level or number)`,
  );
}

/** Upstream's `LOG_ENCODER`: `json`, or `console` (lines for humans), which is `pretty` here. */
export function parseUpstreamLogEncoder(raw: unknown): 'json' | 'pretty' {
  const s = String(raw).trim().toLowerCase();
  if (s === 'json') return 'json';
  if (s === 'console') return 'pretty';
  throw new Error(`"${String(raw)}" is not json or console`);
}

/** A `host:port` setting (`:8080` listens on every IPv4 address). */
function hostPort(raw: unknown): string {
  const s = parsers.string(raw);
  parseAddress(s);
  return s;
}

/** Settings every app has: where the cluster is, and how to log. */
export const COMMON_OPTIONS = {
  kubeconfig: option({
    key: 'kubeconfig',
    flag: '--kubeconfig',
    env: 'KUBECONFIG',
    description: 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)',
    parse: parsers.string,
    placeholder: '<file>',
  }),
  logLevel: option({
    key: 'logLevel',
    flag: '--log-level',
    env: 'EGW_LOG_LEVEL',
    upstreamEnv: 'LOG_LEVEL',
    description: 'debug, info, warn or error',
    parse: parsers.oneOf(LEVELS),
    parseUpstream: parseUpstreamLogLevel,
    default: 'info' as const,
    placeholder: '<level>',
  }),
  logFormat: option({
    key: 'logFormat',
    flag: '--log-format',
    env: 'EGW_LOG_FORMAT',
    upstreamEnv: 'LOG_ENCODER',
    description: "json or pretty (default: pretty on a terminal; upstream's LOG_ENCODER console is pretty)",
    parse: parsers.oneOf(['json', 'pretty'] as const),
    parseUpstream: parseUpstreamLogEncoder,
    placeholder: '<format>',
  }),
};

/**
 * Settings the controller and the agent must agree on: the Helm timing values (seconds,
 * fractions allowed) and the tunnel address ranges.
 */
export const SHARED_OPTIONS = {
  tunnelUpdatePeriodMs: option({
    key: 'tunnelUpdatePeriod',
    flag: '--tunnel-update-period',
    env: 'EGW_TUNNEL_UPDATE_PERIOD',
    description: 'agent heartbeat period in seconds',
    parse: parsers.secondsToMs,
    default: 1000,
    placeholder: '<seconds>',
  }),
  eipEvictionTimeoutMs: option({
    key: 'eipEvictionTimeout',
    flag: '--eip-eviction-timeout',
    env: 'EGW_EIP_EVICTION_TIMEOUT',
    description: 'seconds without a new heartbeat before a node loses its EIPs',
    parse: parsers.secondsToMs,
    default: 3000,
    placeholder: '<seconds>',
  }),
  tunnelIpv4Cidr: option({
    key: 'tunnelIpv4Cidr',
    flag: '--tunnel-ipv4-cidr',
    env: 'EGW_TUNNEL_IPV4_CIDR',
    description: 'IPv4 range for tunnel addresses',
    parse: parsers.string,
    default: '198.19.255.0/24',
    placeholder: '<cidr>',
  }),
  tunnelIpv6Cidr: option({
    key: 'tunnelIpv6Cidr',
    flag: '--tunnel-ipv6-cidr',
    env: 'EGW_TUNNEL_IPV6_CIDR',
    description: "IPv6 range for tunnel addresses ('' for none)",
    parse: parsers.string,
    default: 'fd00:ff::/112',
    placeholder: '<cidr>',
  }),
};

/** The `--health-address` setting with an app's default port (upstream: `HEALTH_PROBE_BIND_ADDRESS`). */
export function healthAddressOption(defaultAddress: string) {
  return option({
    key: 'healthAddress',
    flag: '--health-address',
    env: 'EGW_HEALTH_ADDRESS',
    upstreamEnv: 'HEALTH_PROBE_BIND_ADDRESS',
    description: 'host:port of /healthz, /readyz and /metrics',
    parse: hostPort,
    default: defaultAddress,
    placeholder: '<host:port>',
  });
}

/**
 * The `--metrics-address` setting (upstream: `METRICS_BIND_ADDRESS`, which its chart sets when
 * `prometheus.enabled`): a second server for `/metrics`. Unset, or upstream's `0` ("off"), keeps
 * `/metrics` on the health address only: metrics cannot be switched off here.
 */
export function metricsAddressOption() {
  return option({
    key: 'metricsAddress',
    flag: '--metrics-address',
    env: 'EGW_METRICS_ADDRESS',
    upstreamEnv: 'METRICS_BIND_ADDRESS',
    description: 'host:port of a second server for /metrics (default: /metrics on the health address only)',
    parse: (raw: unknown) => (String(raw).trim() === '0' ? '0' : hostPort(raw)),
    placeholder: '<host:port>',
  });
}

/** The address of the separate metrics server to start, if the settings ask for one. */
export function separateMetricsAddress(s: {
  healthAddress: string;
  metricsAddress?: string | undefined;
}): string | undefined {
  const m = s.metricsAddress;
  return m === undefined || m === '' || m === '0' || m === s.healthAddress ? undefined : m;
}

/**
 * Cross-setting rules both apps enforce at start, as errors:
 * - `eipEvictionTimeout` shorter than `tunnelUpdatePeriod`: a healthy node that heartbeats on
 *   time would still pass its deadline before every heartbeat, so EIPs would move all the time.
 *   Detection runs at the deadline here, so upstream's stricter rule (eviction >= update +
 *   monitor period) would refuse valid fast settings such as our defaults 1/3 s with a 5 s
 *   monitor; tighter margins are warnings (`validateTiming`, the agent's fencing warnings).
 * - No tunnel address family (both tunnel CIDRs empty).
 */
export function checkSharedSettings(s: {
  tunnelUpdatePeriodMs?: number;
  eipEvictionTimeoutMs?: number;
  tunnelIpv4Cidr?: string;
  tunnelIpv6Cidr?: string;
}): ConfigError[] {
  const errors: ConfigError[] = [];
  const { tunnelUpdatePeriodMs: update, eipEvictionTimeoutMs: eviction } = s;
  if (update !== undefined && eviction !== undefined && eviction < update)
    errors.push(
      new ConfigError(
        'eipEvictionTimeout',
        'settings',
        `${eviction / 1000}s is shorter than tunnelUpdatePeriod (${update / 1000}s), so every healthy node would ` +
          `lose its EIPs between two heartbeats: use at least ${(2 * update + 500) / 1000}s`,
      ),
    );
  if (s.tunnelIpv4Cidr === '' && s.tunnelIpv6Cidr === '')
    errors.push(
      new ConfigError(
        'tunnelIpv4Cidr, tunnelIpv6Cidr',
        'settings',
        'both are empty, so tunnels would have no address family: set at least one (or enableIPv4/enableIPv6 true)',
      ),
    );
  return errors;
}

/**
 * Every key the controller and the agent read from the config file. Both read one file (the
 * chart's `egressgateway` ConfigMap), so each ignores the other's keys and reports only keys
 * that neither knows. The apps' settings tests check their keys are listed here.
 */
export const APP_CONFIG_KEYS: readonly string[] = [
  // shared (SHARED_OPTIONS)
  'kubeconfig',
  'logLevel',
  'logFormat',
  'tunnelUpdatePeriod',
  'eipEvictionTimeout',
  'tunnelIpv4Cidr',
  'tunnelIpv6Cidr',
  'healthAddress',
  'metricsAddress',
  // controller
  'tunnelMonitorPeriod',
  'maxNumberEndpointPerSlice',
  'gatewayFailover',
  'rebalance',
  'detection',
  'podNamespace',
  'leaderElectionNamespace',
  'leaderElectionName',
  'leaderElectionLeaseDuration',
  'leaderElectionRenewDeadline',
  'leaderElectionRetryPeriod',
  'identity',
  'webhookAddress',
  'webhookSecret',
  'webhookConfiguration',
  'webhookService',
  'webhookHosts',
  'webhookCertValidity',
  // agent
  'nodeName',
  'egressInterface',
  'fenceMargin',
  'tunnelDevice',
  'tunnelVni',
  'tunnelPort',
  'conflictProbeInterval',
  // agent: gateway peers
  'peers',
  'peerPort',
  'peerAdvertPeriod',
  'peerDeadInterval',
  'peerLease',
  'peerRejoinDelay',
  'peerFallbackAfter',
  'peerKeySecret',
  'peerKeyNamespace',
];

/** A command line for an app: `--config <file>` plus every setting as a flag. */
export function buildAppProgram(
  name: string,
  description: string,
  options: Record<string, OptionSpec>,
): Command {
  const program = new Command(name)
    .description(description)
    .option(
      '--config <file>',
      "YAML config file, our keys or upstream's conf.yml layout [env EGW_CONFIG, then upstream's CONFIGMAP_PATH]",
    );
  return addOptions(program, options);
}

/** A log line to write once the app's logger exists. */
export interface StartupLog {
  fields: Record<string, unknown>;
  message: string;
}

/** What {@link loadAppSettings} found. */
export interface AppSettings<S extends Record<string, OptionSpec>> {
  settings: ConfigOf<S>;
  /** The config file read (from `--config`, `EGW_CONFIG` or `CONFIGMAP_PATH`), if any. */
  configPath?: string;
  file?: ConfigFile;
  /** Warnings about the config file, at most one per kind (see {@link loadAppSettings}). */
  warnings: StartupLog[];
}

/**
 * Resolves an app's settings from its command line, environment and config file, as
 * {@link runApp} does, without side effects other than reading the file.
 *
 * Precedence: flag > our env (`EGW_*`) > upstream's env (`LOG_LEVEL`, …) > config file >
 * default. The file is `--config`, else `EGW_CONFIG`, else upstream's `CONFIGMAP_PATH`.
 * Warnings: one `upstream settings accepted but not applied` line naming every upstream key
 * without effect here, with its reason.
 *
 * @throws ConfigError for a bad value, an unknown file key, or a rule of {@link checkSharedSettings}.
 */
export function loadAppSettings<S extends Record<string, OptionSpec>>(app: {
  name: string;
  description: string;
  options: S;
  /** Node-style argv (`[node, script, ...args]`). */
  argv: string[];
  env: Record<string, string | undefined>;
}): AppSettings<S> {
  const program = buildAppProgram(app.name, app.description, app.options).parse(app.argv);
  const flags = program.opts();
  const given = (v: unknown) => (v === undefined || v === '' ? undefined : String(v));
  const configPath = given(flags.config) ?? given(app.env.EGW_CONFIG) ?? given(app.env.CONFIGMAP_PATH);
  const file = configPath ? loadConfigFile(configPath) : undefined;
  const settings = resolveConfig(app.options, {
    flags,
    env: app.env,
    otherAppsKeys: APP_CONFIG_KEYS,
    suggest: UPSTREAM_CONFIG_KEYS,
    ...(file && configPath ? { file: file.values, fileOrigins: file.origins, fileName: configPath } : {}),
  });
  throwAll(checkSharedSettings(settings as Parameters<typeof checkSharedSettings>[0]));
  const warnings: StartupLog[] = [];
  if (file && file.notApplied.length > 0)
    warnings.push({
      fields: {
        file: configPath,
        keys: file.notApplied.map((n) => n.key),
        reasons: Object.fromEntries(file.notApplied.map((n) => [n.key, `${n.kind}: ${n.why}`])),
      },
      message: 'upstream settings accepted but not applied',
    });
  return { settings, ...(configPath ? { configPath } : {}), ...(file ? { file } : {}), warnings };
}

/**
 * Runs an app from its command line: settings as {@link loadAppSettings} resolves them (their
 * warnings logged), then `start`; SIGTERM and SIGINT call the returned `stop()` (graceful) and
 * exit 0, or 1 if it fails.
 *
 * @example
 * await runApp({ name: 'egw-agent', description: 'agent', options: AGENT_OPTIONS, start: (s) => main({ settings: s }) });
 */
export async function runApp<S extends Record<string, OptionSpec>>(app: {
  name: string;
  description: string;
  options: S;
  start: (settings: ConfigOf<S>) => Promise<{ stop(): Promise<void> }>;
  argv?: string[];
}): Promise<void> {
  const { settings, warnings } = loadAppSettings({
    ...app,
    argv: app.argv ?? process.argv,
    env: process.env,
  });
  if (warnings.length > 0) {
    const s = settings as { logLevel?: LogOptions['level']; logFormat?: LogOptions['format'] };
    const log = createLogger({
      name: app.name,
      ...(s.logLevel ? { level: s.logLevel } : {}),
      ...(s.logFormat ? { format: s.logFormat } : {}),
    });
    for (const w of warnings) log.warn(w.fields, w.message);
  }
  const running = await app.start(settings);
  const shutdown = () =>
    void running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
