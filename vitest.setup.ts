import fc from 'fast-check';

// Property tests are reproducible in CI: a fixed seed and more runs. Locally, a random seed
// unless FC_SEED is set; fast-check prints the seed and path of any counterexample.
const seedFromEnv = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const ci = process.env.CI === 'true' || process.env.CI === '1';
fc.configureGlobal({
  ...(seedFromEnv !== undefined ? { seed: seedFromEnv } : ci ? { seed: 20261125 } : {}),
  numRuns: Number(process.env.FC_NUM_RUNS ?? (ci ? 300 : 100)),
});
