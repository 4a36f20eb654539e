import { Command } from 'commander';
import {
  addOptions,
  type ConfigOf,
  loadConfigFile,
  type OptionSpec,
  option,
  parsers,
  resolveConfig,
} from './config.js';
import { createLogger, type LogOptions } from './logger.js';

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
    description: 'debug, info, warn or error',
    parse: parsers.oneOf(['debug', 'info', 'warn', 'error'] as const),
    default: 'info' as const,
    placeholder: '<level>',
  }),
  logFormat: option({
    key: 'logFormat',
    flag: '--log-format',
    env: 'EGW_LOG_FORMAT',
    description: 'json or pretty (default: pretty on a terminal)',
    parse: parsers.oneOf(['json', 'pretty'] as const),
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

/** The `--health-address` setting with an app's default port. */
export function healthAddressOption(defaultAddress: string) {
  return option({
    key: 'healthAddress',
    flag: '--health-address',
    env: 'EGW_HEALTH_ADDRESS',
    description: 'host:port of /healthz, /readyz and /metrics',
    parse: parsers.string,
    default: defaultAddress,
    placeholder: '<host:port>',
  });
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
  // controller
  'tunnelMonitorPeriod',
  'rebalance',
  'detection',
  'leaderElectionNamespace',
  'leaderElectionName',
  'leaderElectionLeaseDuration',
  'leaderElectionRenewDeadline',
  'leaderElectionRetryPeriod',
  'identity',
  // agent
  'nodeName',
  'egressInterface',
  'fenceMargin',
  'tunnelDevice',
  'tunnelVni',
  'tunnelPort',
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
      "YAML config file: our keys (eipEvictionTimeout) or upstream's conf.yml layout (default: $CONFIGMAP_PATH)",
    );
  return addOptions(program, options);
}

/**
 * Runs an app from its command line: settings from flags, env and `--config`, then `start`;
 * SIGTERM and SIGINT call the returned `stop()` (graceful) and exit 0, or 1 if it fails.
 */
export async function runApp<S extends Record<string, OptionSpec>>(app: {
  name: string;
  description: string;
  options: S;
  start: (settings: ConfigOf<S>) => Promise<{ stop(): Promise<void> }>;
  argv?: string[];
}): Promise<void> {
  const program = buildAppProgram(app.name, app.description, app.options).parse(app.argv ?? process.argv);
  const flags = program.opts();
  // Upstream's chart mounts its ConfigMap and names the file in CONFIGMAP_PATH.
  const path = flags.config ?? (process.env.CONFIGMAP_PATH || undefined);
  const file = path ? loadConfigFile(String(path)) : undefined;
  const settings = resolveConfig(app.options, {
    flags,
    env: process.env,
    otherAppsKeys: APP_CONFIG_KEYS,
    ...(file ? { file: file.values, fileName: String(path) } : {}),
  });
  if (file && file.notApplied.length > 0) {
    const s = settings as { logLevel?: LogOptions['level']; logFormat?: string };
    createLogger({
      name: app.name,
      ...(s.logLevel ? { level: s.logLevel } : {}),
      ...(s.logFormat === 'json' || s.logFormat === 'pretty' ? { format: s.logFormat } : {}),
    }).warn(
      { file: String(path), keys: file.notApplied },
      'upstream settings accepted but not applied (no equivalent here)',
    );
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
