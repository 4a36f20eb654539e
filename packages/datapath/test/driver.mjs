// Runs a DatapathBinder inside a network namespace for the netns tests and the benchmark.
// Protocol: one JSON request per stdin line {id, method, args}; one JSON reply per stdout line.
import { createInterface } from 'node:readline';

const modulePath = process.argv[2];
const options = JSON.parse(process.argv[3] ?? '{}');
const { DatapathBinder, watchLink } = await import(modulePath);
const conflicts = [];
const linkChanges = [];
let linkWatch;
const binder = await DatapathBinder.open({ ...options, onConflict: (c) => conflicts.push(c) });

const methods = {
  apply: (state, options) => binder.apply(state, options),
  plan: (state) => binder.plan(state),
  observe: (hint) => binder.observe(hint),
  withdrawAll: () => binder.withdrawAll(),
  withdrawEips: () => binder.withdrawEips(),
  renewEips: (seconds, leaseMs) => binder.renewEips(seconds, leaseMs),
  // Deadlines are instants on the binder's clock (this process's performance.now): the test asks
  // for one `ms` after the request arrives here.
  renewLeasesIn: (ms, options) => binder.renewLeases(performance.now() + ms, options),
  applyUntilIn: (state, ms) => binder.apply(state, { leaseUntil: performance.now() + ms }),
  releaseEips: (addresses) => binder.releaseEips(addresses),
  probeConflicts: () => binder.probeConflicts(),
  conflicts: async () => conflicts,
  watchLink: async (name) => {
    linkWatch = await watchLink(name, (s) => linkChanges.push(s));
    return linkWatch.state;
  },
  linkChanges: async () => linkChanges,
  pid: async () => process.pid,
  exit: async () => {
    setImmediate(() => {
      linkWatch?.close();
      binder.close();
      process.exit(0);
    });
    return true;
  },
};

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, method, args } = JSON.parse(line);
  try {
    const result = await methods[method](...(args ?? []));
    process.stdout.write(`${JSON.stringify({ id, result })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ id, error: { message: e.message, code: e.code } })}\n`);
  }
});
rl.on('close', () => {
  linkWatch?.close();
  binder.close();
  process.exit(0);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
