export { type AgentOptions, type AgentSettings, EgressAgent } from './agent.js';
export type { Binder } from './binder.js';
export {
  type AgentView,
  clusterBypass,
  desiredNodeState,
  type Holding,
  holdings,
  markTables,
  type PodLike,
  podView,
  podViewChanged,
  policyKey,
  type TunnelDeviceSettings,
  tunnelViewChanged,
} from './desired.js';
export { DetectError, detectParentInterface, type ParentInterface } from './detect.js';
export {
  DEFAULT_FENCE_MARGIN_MS,
  eipLeaseMs,
  eipLifetimeSeconds,
  type FencingSettings,
  fenceDeadline,
  fencingWarnings,
  MIN_FENCE_MARGIN_MS,
  renewLeaseMs,
  renewLifetimeSeconds,
} from './fencing.js';
export { type AgentMainOptions, buildProgram, main, type RunningAgent, runCli } from './main.js';
export { type AgentMetrics, createAgentMetrics } from './metrics.js';
export { AGENT_OPTIONS, type AgentCliSettings } from './settings.js';
