import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Candidate, type ProcessSpec, Sim } from '../test/sim.js';
import { decide } from './decide.js';
import { JITTER_FACTOR, maxToleratedDrift } from './options.js';

type Timing = { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };

const defaults: Timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Valid client-go timings: lease > renewDeadline > retryPeriod × jitter. */
const timingArb = (minRetry: number): fc.Arbitrary<Timing> =>
  fc.oneof(
    fc.constant(defaults),
    fc
      .record({
        retryPeriodMs: fc.integer({ min: minRetry, max: 3_000 }),
        renewSlackMs: fc.integer({ min: 1, max: 8_000 }),
        leaseSlackMs: fc.integer({ min: 500, max: 8_000 }),
      })
      .map(({ retryPeriodMs, renewSlackMs, leaseSlackMs }) => {
        const renewDeadlineMs = Math.ceil(retryPeriodMs * JITTER_FACTOR) + renewSlackMs;
        return { retryPeriodMs, renewDeadlineMs, leaseDurationMs: renewDeadlineMs + leaseSlackMs };
      }),
  );

interface Bounds {
  /** Max clock-rate error as a fraction of the tolerated drift (safety) or absolute (liveness). */
  readonly drift: number;
  readonly maxLatencyMs: number;
  readonly maxWatchDelayMs: number;
  readonly maxErrorRate: number;
  /** Some processes run without a watch (polling only). */
  readonly mayLackWatch: boolean;
}

const processArb = (b: Bounds): fc.Arbitrary<ProcessSpec> =>
  fc
    .record({
      // Extremes are where safety breaks first: a slow leader's clock against a fast follower's.
      driftUnit: fc.oneof(fc.constantFrom(-1, 1), fc.double({ min: -1, max: 1, noNaN: true })),
      offsetMs: fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
      latLo: fc.integer({ min: 0, max: b.maxLatencyMs }),
      latHi: fc.integer({ min: 0, max: b.maxLatencyMs }),
      watchDelayMs: fc.integer({ min: 0, max: b.maxWatchDelayMs }),
      preCommitErrorRate: fc.double({ min: 0, max: b.maxErrorRate, noNaN: true }),
      lostResponseRate: fc.double({ min: 0, max: b.maxErrorRate, noNaN: true }),
      watch: b.mayLackWatch ? fc.boolean() : fc.constant(true),
    })
    .map(
      ({ driftUnit, offsetMs, latLo, latHi, watchDelayMs, preCommitErrorRate, lostResponseRate, watch }) => ({
        watch,
        rate: 1 + driftUnit * b.drift,
        offsetMs,
        latencyMs: [Math.min(latLo, latHi), Math.max(latLo, latHi)] as const,
        watchDelayMs,
        preCommitErrorRate,
        lostResponseRate,
      }),
    );

/** A fault during the chaos phase: when (fraction of the phase), what, whom. */
const faultArb = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  kind: fc.constantFrom('pause', 'pause', 'crash'),
  who: fc.nat(),
  /** Pause length as a multiple of the lease duration (long GC pauses, frozen VMs). */
  length: fc.double({ min: 0, max: 2, noNaN: true }),
});

type Fault = typeof faultArb extends fc.Arbitrary<infer F> ? F : never;

function scheduleChaos(sim: Sim, faults: ReadonlyArray<Fault>, chaosMs: number, maxCrashes: number): void {
  let crashes = 0;
  for (const f of faults) {
    const c = sim.candidates[f.who % sim.candidates.length] as Candidate;
    if (f.kind === 'crash') {
      if (crashes >= maxCrashes) continue;
      crashes++;
      sim.at(f.at * chaosMs, () => sim.crash(c));
    } else {
      sim.at(f.at * chaosMs, () => sim.pause(c, f.length * sim.timing.leaseDurationMs));
    }
  }
}

describe('LeaderElector in virtual time (random schedules)', () => {
  it('no two candidates hold a valid term at the same instant, under pauses, crashes, latency, lock errors, lost responses, missing watches and clock drift up to 95 % of maxToleratedDrift', async () => {
    await fc.assert(
      fc.asyncProperty(
        timingArb(200).chain((timing) =>
          fc.record({
            timing: fc.constant(timing),
            processes: fc.array(
              processArb({
                drift: 0.95 * maxToleratedDrift(timing),
                maxLatencyMs: 150,
                maxWatchDelayMs: 200,
                maxErrorRate: 0.5,
                mayLackWatch: true,
              }),
              { minLength: 2, maxLength: 5 },
            ),
            faults: fc.array(faultArb, { maxLength: 12 }),
            seed: fc.integer(),
          }),
        ),
        async ({ timing, processes, faults, seed }) => {
          const sim = new Sim(timing, processes, seed);
          const chaosMs = 6 * timing.leaseDurationMs;
          scheduleChaos(sim, faults, chaosMs, processes.length);
          sim.start();
          await sim.runUntil(chaosMs);
          sim.quiet();
          await sim.runUntil(chaosMs + 3 * timing.leaseDurationMs);
          await sim.stopAll();
          expect(sim.violations).toEqual([]);
        },
      ),
    );
  }, 120_000);

  it('after the leader crashes a new leader starts within leaseDuration + retryPeriod, and a graceful release hands over within one watch delivery plus two lock round trips (drift ≤ 0.5 %, latency ≤ 50 ms)', async () => {
    const maxLatencyMs = 50;
    const maxWatchDelayMs = 50;
    await fc.assert(
      fc.asyncProperty(
        timingArb(500).chain((timing) =>
          fc.record({
            timing: fc.constant(timing),
            processes: fc.array(
              processArb({
                drift: 0.005,
                maxLatencyMs,
                maxWatchDelayMs,
                maxErrorRate: 0.3,
                mayLackWatch: false,
              }),
              {
                minLength: 3,
                maxLength: 5,
              },
            ),
            faults: fc.array(faultArb, { maxLength: 8 }),
            crashPhase: fc.double({ min: 0, max: 1, noNaN: true }),
            stopPhase: fc.double({ min: 0, max: 1, noNaN: true }),
            seed: fc.integer(),
          }),
        ),
        async ({ timing, processes, faults, crashPhase, stopPhase, seed }) => {
          const sim = new Sim(timing, processes, seed);
          const { leaseDurationMs: D, retryPeriodMs: P } = timing;
          const chaosMs = 4 * D;
          // Keep two candidates alive for the crash and the release below.
          scheduleChaos(sim, faults, chaosMs, processes.length - 3);
          sim.start();
          await sim.runUntil(chaosMs);
          sim.quiet();

          // Liveness after chaos: someone leads within two lease durations.
          const quietAt = sim.world.now();
          await sim.runUntil(quietAt + 2 * D + 3 * P, () => sim.leaders().length > 0);
          const leader = sim.leaders()[0];
          expect(leader, `no leader ${2 * D + 3 * P} ms after the faults stopped`).toBeDefined();
          if (leader === undefined) return;

          // Crash the leader at a random point of its renew cycle.
          const crashAt = sim.world.now() + crashPhase * P;
          await sim.runUntil(crashAt);
          sim.crash(leader);
          const termsBefore = sim.terms.length;
          await sim.runUntil(crashAt + D + P + 1, () => sim.terms.length > termsBefore);
          const next = sim.terms[termsBefore];
          expect(next, `no new leader within ${D + P} ms of the crash`).toBeDefined();
          if (next === undefined) return;
          expect(next.startedAt - crashAt).toBeLessThanOrEqual(D + P);

          // Graceful stop of the new leader: the lease is taken right after the release.
          const successor = sim.candidates.find((c) => c.id === next.id) as Candidate;
          await sim.runUntil(sim.world.now() + stopPhase * P);
          const commitsBefore = sim.commits.length;
          const termsBeforeStop = sim.terms.length;
          void sim.stop(successor);
          await sim.runUntil(sim.world.now() + D, () => sim.terms.length > termsBeforeStop);
          const release = sim.commits.slice(commitsBefore).find((c) => c.holder === '');
          const taken = sim.terms[termsBeforeStop];
          expect(release, 'the stopped leader released the lease').toBeDefined();
          expect(taken, 'a candidate took the released lease').toBeDefined();
          if (release === undefined || taken === undefined) return;
          const rtt = 2 * maxLatencyMs;
          expect(taken.startedAt - release.at).toBeLessThanOrEqual(maxWatchDelayMs + 2 * rtt);

          await sim.stopAll();
          expect(sim.violations).toEqual([]);
        },
      ),
    );
  }, 120_000);

  it('decide() never takes a record held by another before leaseDuration of unchanged observation, and always takes a free one', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string(),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: -1e9, max: 1e9 }),
        fc.integer({ min: 0, max: 200_000 }),
        (me, holder, leaseMs, observedAt, elapsed) => {
          const state = {
            version: '7',
            record: {
              holderIdentity: holder,
              leaseDurationMs: leaseMs,
              acquireTime: '',
              renewTime: '',
              leaseTransitions: 0,
            },
          };
          const d = decide({
            state,
            observedAtMs: observedAt,
            nowMs: observedAt + elapsed,
            identity: me,
            fallbackLeaseDurationMs: 15_000,
          });
          if (holder === me) expect(d.action).toBe('renew');
          else if (holder === '') expect(d).toEqual({ action: 'acquire', reason: 'free' });
          else if (elapsed < leaseMs)
            expect(d).toEqual({ action: 'wait', holder, expiresAtMs: observedAt + leaseMs });
          else expect(d).toEqual({ action: 'acquire', reason: 'expired' });
        },
      ),
    );
  });
});
