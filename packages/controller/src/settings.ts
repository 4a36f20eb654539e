import { DEFAULT_MAX_ENDPOINTS_PER_SLICE } from '@egressgateway/crds';
import { DEFAULT_TIMING, type TimingWarning, validateTiming } from '@egressgateway/failover';
import {
  COMMON_OPTIONS,
  type ConfigOf,
  healthAddressOption,
  metricsAddressOption,
  option,
  parsers,
  SHARED_OPTIONS,
} from '@egressgateway/kube';

/** Lease namespace when neither a setting nor `POD_NAMESPACE` names one (outside a cluster). */
export const FALLBACK_LEASE_NAMESPACE = 'kube-system';

/**
 * Every controller setting, by flag, environment variable and config-file key. Timing keys keep
 * the Helm value names (`tunnelMonitorPeriod`, `tunnelUpdatePeriod`, `eipEvictionTimeout`, in
 * seconds, fractions allowed).
 */
export const CONTROLLER_OPTIONS = {
  ...COMMON_OPTIONS,
  ...SHARED_OPTIONS,
  healthAddress: healthAddressOption('0.0.0.0:8788'),
  metricsAddress: metricsAddressOption(),
  tunnelMonitorPeriodMs: option({
    key: 'tunnelMonitorPeriod',
    flag: '--tunnel-monitor-period',
    env: 'EGW_TUNNEL_MONITOR_PERIOD',
    description: 'safety resync period in seconds (detection itself is deadline-driven)',
    parse: parsers.secondsToMs,
    default: DEFAULT_TIMING.tunnelMonitorPeriod * 1000,
    placeholder: '<seconds>',
  }),
  maxNumberEndpointPerSlice: option({
    key: 'maxNumberEndpointPerSlice',
    flag: '--max-endpoints-per-slice',
    env: 'EGW_MAX_ENDPOINTS_PER_SLICE',
    description:
      "pods per EgressEndpointSlice / EgressClusterEndpointSlice before another slice starts (upstream's maxNumberEndpointPerSlice)",
    parse: parsers.positiveInt,
    default: DEFAULT_MAX_ENDPOINTS_PER_SLICE,
    placeholder: '<n>',
  }),
  gatewayFailover: option({
    key: 'gatewayFailover',
    flag: '--gateway-failover',
    env: 'EGW_GATEWAY_FAILOVER',
    description:
      "heartbeat failover (default true); false is upstream's node-ready mode: tunnel phases follow Node Ready, heartbeats never time out (conf.yml gatewayFailover.enable)",
    parse: parsers.boolean,
    default: true,
    placeholder: '<true|false>',
  }),
  rebalance: option({
    key: 'rebalance',
    flag: '--rebalance',
    env: 'EGW_REBALANCE',
    description: 'also move EIPs between healthy nodes to even out load (default: sticky)',
    parse: parsers.boolean,
    default: false,
    placeholder: '<true|false>',
  }),
  detection: option({
    key: 'detection',
    flag: '--detection',
    env: 'EGW_DETECTION',
    description:
      "'deadline' (act at the exact eviction instant) or 'poll' (upstream-style, every monitor period; for comparison)",
    parse: parsers.oneOf(['deadline', 'poll'] as const),
    default: 'deadline' as const,
    placeholder: '<mode>',
  }),
  podNamespace: option({
    key: 'podNamespace',
    flag: '--pod-namespace',
    env: 'POD_NAMESPACE',
    description:
      "this replica's namespace (the chart sets it from the downward API); default of the Lease namespace",
    parse: parsers.string,
    placeholder: '<ns>',
  }),
  leaseNamespace: option({
    key: 'leaderElectionNamespace',
    flag: '--leader-election-namespace',
    env: 'EGW_LEADER_ELECTION_NAMESPACE',
    upstreamEnv: 'LEADER_ELECTION_NAMESPACE',
    description: `namespace of the leader election Lease (default: the pod's namespace, else ${FALLBACK_LEASE_NAMESPACE})`,
    parse: parsers.string,
    placeholder: '<ns>',
  }),
  leaseName: option({
    key: 'leaderElectionName',
    flag: '--leader-election-name',
    env: 'EGW_LEADER_ELECTION_NAME',
    upstreamEnv: 'LEADER_ELECTION_ID',
    description: "name of the leader election Lease (upstream's, so the two controllers exclude each other)",
    parse: parsers.string,
    default: 'egressgateway',
    placeholder: '<name>',
  }),
  leaseDurationMs: option({
    key: 'leaderElectionLeaseDuration',
    flag: '--leader-election-lease-duration',
    env: 'EGW_LEADER_ELECTION_LEASE_DURATION',
    description: 'lease duration in seconds',
    parse: parsers.secondsToMs,
    default: 15_000,
    placeholder: '<seconds>',
  }),
  renewDeadlineMs: option({
    key: 'leaderElectionRenewDeadline',
    flag: '--leader-election-renew-deadline',
    env: 'EGW_LEADER_ELECTION_RENEW_DEADLINE',
    description: 'renew deadline in seconds',
    parse: parsers.secondsToMs,
    default: 10_000,
    placeholder: '<seconds>',
  }),
  retryPeriodMs: option({
    key: 'leaderElectionRetryPeriod',
    flag: '--leader-election-retry-period',
    env: 'EGW_LEADER_ELECTION_RETRY_PERIOD',
    description: 'retry period in seconds',
    parse: parsers.secondsToMs,
    default: 2_000,
    placeholder: '<seconds>',
  }),
  webhookAddress: option({
    key: 'webhookAddress',
    flag: '--webhook-address',
    env: 'EGW_WEBHOOK_ADDRESS',
    description:
      'serve the admission webhook (HTTPS, /validate and /mutate) on host:port, e.g. 0.0.0.0:5822; unset: no webhook',
    parse: parsers.string,
    placeholder: '<host:port>',
  }),
  webhookSecret: option({
    key: 'webhookSecret',
    flag: '--webhook-secret',
    env: 'EGW_WEBHOOK_SECRET',
    description: "Secret in the controller's namespace that keeps the webhook CA (created when missing)",
    parse: parsers.string,
    default: 'egressgateway-webhook-ca',
    placeholder: '<name>',
  }),
  webhookConfiguration: option({
    key: 'webhookConfiguration',
    flag: '--webhook-configuration',
    env: 'EGW_WEBHOOK_CONFIGURATION',
    description:
      'name of the ValidatingWebhookConfiguration and MutatingWebhookConfiguration whose caBundle is kept current',
    parse: parsers.string,
    default: 'egressgateway',
    placeholder: '<name>',
  }),
  webhookService: option({
    key: 'webhookService',
    flag: '--webhook-service',
    env: 'EGW_WEBHOOK_SERVICE',
    description:
      "Service in the controller's namespace that the API server calls; its DNS names go into the serving certificate",
    parse: parsers.string,
    default: 'egressgateway-controller',
    placeholder: '<name>',
  }),
  webhookHosts: option({
    key: 'webhookHosts',
    flag: '--webhook-hosts',
    env: 'EGW_WEBHOOK_HOSTS',
    description:
      'more names or IPs for the serving certificate (comma-separated), e.g. when the API server calls a URL',
    parse: parsers.list,
    default: [] as string[],
    placeholder: '<names>',
  }),
  webhookCertValidityMs: option({
    key: 'webhookCertValidity',
    flag: '--webhook-cert-validity',
    env: 'EGW_WEBHOOK_CERT_VALIDITY',
    description:
      'serving certificate lifetime in seconds (renewed at two thirds; the CA lives ten times as long)',
    parse: parsers.secondsToMs,
    default: 365 * 86_400_000,
    placeholder: '<seconds>',
  }),
  identity: option({
    key: 'identity',
    flag: '--identity',
    env: 'POD_NAME',
    description: 'this replica in the Lease (default: hostname-pid)',
    parse: parsers.string,
    placeholder: '<id>',
  }),
};

/** Resolved controller settings. */
export type ControllerSettings = ConfigOf<typeof CONTROLLER_OPTIONS>;

/** The leader election Lease and where its namespace came from. */
export interface LeaseLocation {
  namespace: string;
  name: string;
  /** `setting` (flag, env or file), `pod` (`POD_NAMESPACE`) or `fallback` (log it: the pod namespace is unknown). */
  namespaceFrom: 'setting' | 'pod' | 'fallback';
}

/**
 * The Lease the replicas elect on. As upstream's controller does, the default is the Lease
 * `egressgateway` in the controller's own namespace, so an upstream controller and ours in the
 * same namespace exclude each other; without a known namespace it is the Lease in
 * {@link FALLBACK_LEASE_NAMESPACE}.
 */
export function leaderElectionLease(
  s: Pick<ControllerSettings, 'leaseNamespace' | 'leaseName' | 'podNamespace'>,
): LeaseLocation {
  if (s.leaseNamespace) return { namespace: s.leaseNamespace, name: s.leaseName, namespaceFrom: 'setting' };
  if (s.podNamespace) return { namespace: s.podNamespace, name: s.leaseName, namespaceFrom: 'pod' };
  return { namespace: FALLBACK_LEASE_NAMESPACE, name: s.leaseName, namespaceFrom: 'fallback' };
}

/** The controller's own namespace: the pod's, else the fallback (the webhook's Secret and Service live there). */
export function controllerNamespace(s: Pick<ControllerSettings, 'podNamespace'>): string {
  return s.podNamespace ?? FALLBACK_LEASE_NAMESPACE;
}

/** The names the webhook's serving certificate is valid for: the Service's DNS names, then `webhookHosts`. */
export function webhookHosts(
  s: Pick<ControllerSettings, 'podNamespace' | 'webhookService' | 'webhookHosts'>,
): string[] {
  const ns = controllerNamespace(s);
  const svc = s.webhookService;
  return [
    ...new Set([
      `${svc}.${ns}.svc`,
      `${svc}.${ns}.svc.cluster.local`,
      `${svc}.${ns}`,
      svc,
      ...s.webhookHosts,
    ]),
  ];
}

/** Warnings about unsafe timing combinations (the seed's rule and ours), with the numbers. */
export function timingWarnings(
  s: Pick<
    ControllerSettings,
    'tunnelMonitorPeriodMs' | 'tunnelUpdatePeriodMs' | 'eipEvictionTimeoutMs' | 'detection'
  >,
): TimingWarning[] {
  return validateTiming(
    {
      tunnelMonitorPeriod: s.tunnelMonitorPeriodMs / 1000,
      tunnelUpdatePeriod: s.tunnelUpdatePeriodMs / 1000,
      eipEvictionTimeout: s.eipEvictionTimeoutMs / 1000,
    },
    { mode: s.detection },
  );
}
