/**
 * `@egressgateway/kube`: the Kubernetes plumbing the egressgateway controller and agent share.
 *
 * The export list is explicit: what is here is the package's API (see the README's table);
 * helpers the modules use among themselves (backoff arithmetic, address parsing, upstream log
 * value parsers, the config file reader) stay internal.
 */

// The apps' shared settings and CLI runner.
export {
  APP_CONFIG_KEYS,
  type AppSettings,
  buildAppProgram,
  COMMON_OPTIONS,
  healthAddressOption,
  loadAppSettings,
  metricsAddressOption,
  runApp,
  SHARED_OPTIONS,
  type StartupLog,
  separateMetricsAddress,
} from './app.js';
export type { BackoffOptions } from './backoff.js';
// API access.
export { KubeClient, type ListOptions, type WatchOptions } from './client.js';
// Time.
export { type Clock, sleep, systemClock, type TimerHandle } from './clock.js';
// Run-again-when-triggered-while-running.
export { Coalescer } from './coalescer.js';
// Settings from flags, env and a config file.
export {
  ConfigError,
  type ConfigOf,
  type OptionSpec,
  option,
  type Parser,
  parsers,
  resolveConfig,
} from './config.js';
export {
  type ConfigFile,
  mapConfigDocument,
  type NotApplied,
  type NotAppliedKind,
  UPSTREAM_CONFIG,
  type UpstreamKey,
} from './config-file.js';
export { isConflict, isGone, isNotFound, KubeApiError, toKubeApiError } from './errors.js';
export {
  type EventInput,
  EventRecorder,
  type EventRecorderOptions,
  type EventSink,
  type InvolvedObject,
  KubeEventSink,
} from './events.js';
// Gateway heartbeats as per-node Leases (renewed by the agents, watched by the controller).
export {
  DEFAULT_HEARTBEAT_NAMESPACE,
  HEARTBEAT_EVICTED_ANNOTATION,
  HEARTBEAT_LEASE_LABEL,
  HEARTBEAT_LEASE_SELECTOR,
  HEARTBEAT_READER_ANNOTATION,
  type HeartbeatLease,
  type HeartbeatRenewal,
  heartbeatLeaseEvicted,
  heartbeatLeaseName,
  heartbeatLeaseNode,
  heartbeatLeaseRead,
  LEASES,
  renewHeartbeatLease,
  toMicroTime,
} from './heartbeat-lease.js';
// Caches.
export {
  Informer,
  type InformerHandlers,
  type InformerOptions,
  type KubeObject,
  type ListResult,
  type ListWatch,
  type WatchEvent,
} from './informer.js';
export { type InformerExtras, InformerSet, type InformerSetOptions } from './informer-set.js';
export { loadKubeConfig } from './kubeconfig.js';
export { createLogger, type Logger, type LogOptions, silentLogger } from './logger.js';
export { type ObjectCache, OwnWrites } from './own-writes.js';
export { type PodView, podView, podViewChanged } from './pod-view.js';
export {
  EGRESS_CLUSTER_ENDPOINT_SLICES,
  EGRESS_CLUSTER_INFOS,
  EGRESS_CLUSTER_POLICIES,
  EGRESS_ENDPOINT_SLICES,
  EGRESS_GATEWAYS,
  EGRESS_POLICIES,
  EGRESS_TUNNELS,
  NAMESPACES,
  NODES,
  PODS,
  type ResourceRef,
  resourcePath,
  SECRETS,
} from './resources.js';
export {
  type HealthServer,
  type HealthServerOptions,
  listenOn,
  parseAddress,
  startHealthServer,
} from './server.js';
export { type StatusUpdateResult, updateStatus } from './status.js';
