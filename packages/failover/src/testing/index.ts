/**
 * `@egressgateway/failover/testing`: fast-check arbitraries (needs the optional peer `fast-check`), object
 * builders, and the timing simulator. The simulator alone, without fast-check, is also available from
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
export * from './simulator-entry.js';
