/**
 * `@egressgateway/peers/testing`: the discrete-event simulator of a gateway group running the
 * protocol core, and fast-check arbitraries of scenarios and fault schedules (they need the optional
 * peer `fast-check`).
 *
 * @packageDocumentation
 */
export {
  arbClock,
  arbFault,
  arbScenario,
  arbTightTiming,
  type ScenarioBounds,
} from './arbitraries.js';
export {
  type AnswerInterval,
  type Overlap,
  PeerSimulator,
  SIM_EIP,
  type SimAgent,
  type SimClock,
  type SimFault,
  type SimScenario,
} from './simulator.js';
