/**
 * `@egressgateway/agent`: the agent app as a library (see the README's "Embed" section). The
 * export list is explicit; the parts the app is composed of stay internal.
 *
 * @packageDocumentation
 */

/** `@egressgateway/kube`'s, kept here for the agent's users (the cache's pod view). */
export { podView } from '@egressgateway/kube';
export { type AgentOptions, type AgentSettings, EgressAgent } from './agent.js';
export type { AgentPeerOptions, PeerLink, PeerLinkHooks } from './agent-peers.js';
export type { Binder } from './binder.js';
export { type AgentView, desiredNodeState, type PodLike, type TunnelDeviceSettings } from './desired.js';
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
export type { EgressLinkState, EgressLinkWatcher } from './link-guard.js';
export { type AgentMainOptions, buildProgram, main, type RunningAgent, runCli } from './main.js';
export { type AgentMetrics, createAgentMetrics } from './metrics.js';
export type { PeerFallbackReason } from './peer-driver.js';
export { AGENT_OPTIONS, type AgentCliSettings } from './settings.js';
