/**
 * `@egressgateway/failover/testing`: the testing kit. fast-check arbitraries (they need the optional
 * peer `fast-check`), object builders, a driver that replays heartbeat schedules through the engine,
 * and the timing simulator. The simulator alone, without fast-check, is also available from
 * `@egressgateway/failover/simulator`.
 *
 * @packageDocumentation
 */
export {
  arbCluster,
  arbFault,
  arbGateways,
  arbHeartbeatSchedule,
  arbNodes,
  arbPolicies,
  arbSimulationSettings,
  arbTunnels,
  type ClusterCase,
  type ClusterShape,
  type HeartbeatSchedule,
} from './arbitraries.js';
export {
  type GatewayInit,
  makeClusterPolicy,
  makeGateway,
  makeNode,
  makePolicy,
  makeTunnel,
  type PolicyInit,
} from './builders.js';
export {
  type HeartbeatReplay,
  type NodeReplay,
  type ReplayMove,
  type ReplayOptions,
  replayHeartbeats,
} from './replay.js';
export {
  createPrng,
  type Fault,
  type FaultReport,
  type Percentiles,
  type Prng,
  percentiles,
  type Scenario,
  type SimulationReport,
  type SimulationSettings,
  simulateFailover,
  simulateTrials,
  type TrialOptions,
  type TrialSummary,
} from './simulator-entry.js';
