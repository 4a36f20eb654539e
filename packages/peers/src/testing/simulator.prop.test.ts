import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PEER_TIMING, type PeerTiming, validatePeerTiming } from '../timing.js';
import { arbClock, arbScenario, arbTightTiming, type ScenarioBounds } from './arbitraries.js';
import { PeerSimulator, type SimScenario } from './simulator.js';

const safetyBounds: ScenarioBounds = {
  rateErrorScale: 1,
  // Message delay does not enter safety (leases count from send times): far beyond the liveness bound.
  maxDelayMs: 100,
  maxLossRate: 0.3,
  withdrawLagScale: 1,
  minNodes: 2,
  maxNodes: 5,
  horizonMs: 1_500,
  faults: ['kill', 'pause', 'partition', 'api-down'],
  maxFaults: 8,
};

function runChaos(s: SimScenario): PeerSimulator {
  const sim = new PeerSimulator(s);
  sim.runUntil(3 * s.timing.deadIntervalMs + safetyBounds.horizonMs + 8 * s.timing.deadIntervalMs);
  return sim;
}

describe('peer protocol in simulated time (random schedules)', () => {
  it('never two nodes answer for the EIP at the same real instant: drift ≤ ρ, withdraw ≤ w, any delay/loss, pauses, deaths, asymmetric partitions, API outages', () => {
    fc.assert(
      fc.property(arbScenario(arbTightTiming(), safetyBounds), (s) => {
        const sim = runChaos(s);
        expect(sim.overlaps()).toEqual([]);
      }),
    );
  });

  it('at 130 % of the bounds (drift 1.3 ρ, withdraw 1.3 w) the checker finds two owners: the safety property is not vacuous', () => {
    const beyond: ScenarioBounds = {
      ...safetyBounds,
      rateErrorScale: 1.3,
      withdrawLagScale: 1.3,
      maxDelayMs: 1.3 * 3,
      maxLossRate: 0,
      minNodes: 3,
      maxNodes: 3,
      faults: ['partition'],
      maxFaults: 3,
    };
    const result = fc.check(
      fc.property(arbScenario(arbTightTiming(), beyond), (s) => runChaos(s).overlaps().length === 0),
      { numRuns: 3_000 },
    );
    expect(result.failed, `no violation found in ${result.numRuns} runs`).toBe(true);
  });
});
