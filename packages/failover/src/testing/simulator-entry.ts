/**
 * `@egressgateway/failover/simulator`: the discrete-event timing simulator, with no dependency at all.
 *
 * @packageDocumentation
 */
export { createPrng, type Prng } from './prng.js';
export {
  type Fault,
  type FaultReport,
  type Scenario,
  type SimulationReport,
  type SimulationSettings,
  simulateFailover,
} from './simulator.js';
export {
  type Percentiles,
  percentiles,
  simulateTrials,
  type TrialOptions,
  type TrialSummary,
} from './trials.js';
