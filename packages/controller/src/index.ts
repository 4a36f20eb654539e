export {
  type ExistingAllocation,
  formatMark,
  type TunnelAllocation,
  TunnelAllocator,
  TunnelCidrError,
  type TunnelCidrs,
} from './allocator.js';
export { type ControllerOptions, EgressController, type WriteRecord } from './controller.js';
export { HeartbeatObserver, isHeartbeatOnlyChange } from './heartbeats.js';
export { buildProgram, type MainOptions, main, type RunningController, runCli } from './main.js';
export { type ControllerMetrics, createControllerMetrics } from './metrics.js';
export { type NodeView, nodeView, nodeViewChanged } from './nodes.js';
export { CONTROLLER_OPTIONS, type ControllerSettings, timingWarnings } from './settings.js';
export { affectsTunnelPlan, planTunnels, type TunnelAction } from './tunnels.js';
