// KubernetesLeaseLock against the embedded API server (@egressgateway/apiserver): the real Lease
// REST semantics (create-if-missing, resourceVersion compare-and-swap, watch) end to end.
import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { CoordinationV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockConflictError } from './errors.js';
import { KubernetesLeaseLock } from './kubernetes-lease-lock.js';
import { LeaderElector } from './leader-elector.js';

let server: ApiServer;
let kc: KubeConfig;
beforeAll(async () => {
  server = await startApiServer({});
  kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
});
afterAll(async () => server.close());

const lock = (name: string) =>
  new KubernetesLeaseLock({
    namespace: 'default',
    name,
    api: kc.makeApiClient(CoordinationV1Api),
    watch: new Watch(kc),
    watchBackoffMs: { initial: 20, max: 200 },
  });
const signal = () => AbortSignal.timeout(5_000);
const record = (holderIdentity: string, renewTime = '2026-11-25T23:41:57.123456Z') => ({
  holderIdentity,
  leaseDurationMs: 1_500,
  acquireTime: '2026-11-25T23:41:57.000001Z',
  renewTime,
  leaseTransitions: 0,
});

describe('KubernetesLeaseLock against the embedded API server', () => {
  it('creates the Lease when missing and refuses a write from a stale version', async () => {
    const a = lock('embedded-cas');
    expect(await a.get(signal())).toBeUndefined();
    const created = await a.create(record('a'), signal());
    expect(created.record.holderIdentity).toBe('a');
    // A renewal changes renewTime, so the server moves the resourceVersion on.
    const updated = await a.update(record('a', '2026-11-25T23:41:58.000000Z'), created.version, signal());
    expect(updated.version).not.toBe(created.version);
    await expect(a.update(record('b'), created.version, signal())).rejects.toBeInstanceOf(LockConflictError);
    expect((await a.get(signal()))?.version).toBe(updated.version);
  });

  it('two electors: one leads, and a graceful stop hands over through the watch', async () => {
    const leading: string[] = [];
    const elector = (id: string) =>
      new LeaderElector({
        lock: lock('embedded-handover'),
        identity: id,
        leaseDurationMs: 1500,
        renewDeadlineMs: 1000,
        retryPeriodMs: 200,
        onStartedLeading: () => void leading.push(id),
      });
    const a = elector('a');
    const b = elector('b');
    a.start();
    await new Promise((r) => setTimeout(r, 300));
    b.start();
    const until = async (p: () => boolean) => {
      const end = Date.now() + 5000;
      while (!p()) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until(() => leading.length === 1);
    const firstId = leading[0] ?? '';
    const secondId = firstId === 'a' ? 'b' : 'a';
    const first = firstId === 'a' ? a : b;
    const second = first === a ? b : a;
    await first.stop();
    // Released, not left to expire: the holder is cleared, or already the other candidate.
    const after = await lock('embedded-handover').get(signal());
    expect(['', secondId]).toContain(after?.record.holderIdentity ?? '');
    await until(() => second.isLeader());
    await second.stop();
  });
});
