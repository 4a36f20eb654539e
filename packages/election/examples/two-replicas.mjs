// Two replicas in one process elect a leader through a MemoryLock; the leader stops gracefully
// and the other takes over at once. Run: node examples/two-replicas.mjs (after npm run build).
import { LeaderElector, MemoryLock } from '@egressgateway/election';

const lock = new MemoryLock();
let stoppedAt = 0;
const replica = (identity) =>
  new LeaderElector({
    lock,
    identity,
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 500,
    onStartedLeading: (signal) => {
      const since =
        stoppedAt > 0
          ? ` (${(performance.now() - stoppedAt).toFixed(1)} ms after the old leader stopped)`
          : '';
      console.log(`${identity}: leading${since}`);
      signal.addEventListener('abort', () => console.log(`${identity}: stop work (${signal.reason.reason})`));
    },
    onNewLeader: (leader) => console.log(`${identity}: leader is ${leader}`),
  });

const a = replica('a');
const b = replica('b');
a.start();
await new Promise((r) => setTimeout(r, 100));
b.start();
await new Promise((r) => setTimeout(r, 1_000));
stoppedAt = performance.now();
await a.stop(); // releases the lease
await new Promise((r) => setTimeout(r, 50));
await b.stop();
