// KubernetesLeaseLock against a Kubernetes API through a real KubeConfig: by default a small fake
// of the Lease endpoints (test/fake-lease-server.ts); with EGW_TEST_KUBECONFIG=<file> a real
// cluster (namespace EGW_TEST_NAMESPACE, default "default"); fault-injection tests need the fake.
import { CoordinationV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLeaseServer } from '../test/fake-lease-server.js';
import { LockConflictError, LockUnavailableError } from './errors.js';
import { KubernetesLeaseLock } from './kubernetes-lease-lock.js';
import { LeaderElector } from './leader-elector.js';
import type { LeaseRecord, LockState } from './lock.js';

const realKubeConfig = process.env.EGW_TEST_KUBECONFIG;
const namespace = process.env.EGW_TEST_NAMESPACE ?? 'default';

let fake: FakeLeaseServer | undefined;
let kubeConfig: KubeConfig;
const created: string[] = [];

beforeAll(async () => {
  kubeConfig = new KubeConfig();
  if (realKubeConfig !== undefined) {
    kubeConfig.loadFromFile(realKubeConfig);
  } else {
    fake = await new FakeLeaseServer().listen();
    kubeConfig.loadFromOptions(fake.kubeConfigOptions());
  }
});

afterAll(async () => {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  for (const name of created) {
    await api.deleteNamespacedLease({ name, namespace }).catch(() => undefined);
  }
  await fake?.close();
});

let counter = 0;
function leaseName(): string {
  const name = `egw-election-test-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  created.push(name);
  return name;
}

function lockFor(name: string, extra: { labels?: Record<string, string> } = {}): KubernetesLeaseLock {
  return new KubernetesLeaseLock({
    namespace,
    name,
    api: kubeConfig.makeApiClient(CoordinationV1Api),
    watch: new Watch(kubeConfig),
    watchBackoffMs: { initial: 20, max: 200 },
    ...extra,
  });
}

const signal = () => AbortSignal.timeout(5_000);
const record = (holderIdentity: string, renewTime = '2026-11-25T23:41:57.123456Z'): LeaseRecord => ({
  holderIdentity,
  leaseDurationMs: 1_500,
  acquireTime: '2026-11-25T23:41:57.000001Z',
  renewTime,
  leaseTransitions: 0,
});

async function eventually(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe(`KubernetesLeaseLock (${realKubeConfig === undefined ? 'fake API server' : `cluster ${realKubeConfig}`})`, () => {
  it('get is undefined for a missing Lease; create then get round-trips the record with MicroTime strings', async () => {
    const lock = lockFor(leaseName());
    expect(await lock.get(signal())).toBeUndefined();
    const state = await lock.create(record('a'), signal());
    expect(state.record).toEqual({
      holderIdentity: 'a',
      leaseDurationMs: 2_000, // stored in whole seconds, rounded up
      acquireTime: '2026-11-25T23:41:57.000001Z',
      renewTime: '2026-11-25T23:41:57.123456Z',
      leaseTransitions: 0,
    });
    expect(state.version).not.toBe('');
    const read = await lock.get(signal());
    expect(read).toEqual(state);
    expect(typeof read?.record.renewTime).toBe('string');
  });

  it('fromKubeConfig loads client-node lazily and builds a working lock with a watch', async () => {
    const name = leaseName();
    const lock = await KubernetesLeaseLock.fromKubeConfig(kubeConfig, { namespace, name });
    expect(lock.describe()).toBe(`lease ${namespace}/${name}`);
    const seen: Array<LockState | undefined> = [];
    const stop = lock.watch((s) => seen.push(s));
    try {
      const state = await lock.create(record('a'), signal());
      await eventually(() => seen.length >= 1);
      expect(seen.at(-1)).toEqual(state);
    } finally {
      stop();
    }
  });

  it('create of an existing Lease is a LockConflictError (409 AlreadyExists)', async () => {
    const name = leaseName();
    await lockFor(name).create(record('a'), signal());
    const err = await lockFor(name)
      .create(record('b'), signal())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockConflictError);
    expect((err as Error).message).toMatch(/AlreadyExists/);
  });

  it('update is a compare-and-swap on resourceVersion and keeps labels', async () => {
    const name = leaseName();
    const a = lockFor(name, { labels: { app: 'egressgateway' } });
    const s1 = await a.create(record('a'), signal());
    const s2 = await a.update(record('a', '2026-11-25T23:41:58.000000Z'), s1.version, signal());
    expect(s2.version).not.toBe(s1.version);
    const api = kubeConfig.makeApiClient(CoordinationV1Api);
    expect((await api.readNamespacedLease({ name, namespace })).metadata?.labels).toEqual({
      app: 'egressgateway',
    });
    const stale = await lockFor(name)
      .update(record('b'), s1.version, signal())
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(LockConflictError);
    expect((stale as Error).message).toMatch(/Conflict.*has been modified/);
    // A lock instance that never read the Lease still writes a valid replace (with its labels).
    const other = lockFor(name, { labels: { app: 'egressgateway' } });
    const s3 = await other.update(record('b'), s2.version, signal());
    expect(s3.record.holderIdentity).toBe('b');
    expect((await api.readNamespacedLease({ name, namespace })).metadata?.labels).toEqual({
      app: 'egressgateway',
    });
  });

  it('update of a deleted Lease is a LockConflictError (404), so the elector re-reads and re-creates', async () => {
    const name = leaseName();
    const lock = lockFor(name);
    const s1 = await lock.create(record('a'), signal());
    await kubeConfig.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ name, namespace });
    await expect(lock.update(record('a'), s1.version, signal())).rejects.toBeInstanceOf(LockConflictError);
  });

  it('watch replays the current Lease, then reports changes and deletion', async () => {
    const name = leaseName();
    const lock = lockFor(name);
    const s1 = await lock.create(record('a'), signal());
    const seen: Array<LockState | undefined> = [];
    const stop = lock.watch((s) => seen.push(s));
    try {
      await eventually(() => seen.length >= 1);
      expect(seen[0]).toEqual(s1);
      const s2 = await lock.update(record(''), s1.version, signal());
      await eventually(() => seen.length >= 2);
      expect(seen[1]).toEqual(s2);
      await kubeConfig.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ name, namespace });
      await eventually(() => seen.length >= 3);
      expect(seen[2]).toBeUndefined();
    } finally {
      stop();
    }
  });

  it('two electors hand over through a graceful release via the watch, long before the next retry tick', async () => {
    const name = leaseName();
    // A retry period far longer than the wait below: only the watch can explain a takeover.
    const timing = { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 10_000 };
    const mk = (identity: string) =>
      new LeaderElector({ ...timing, identity, lock: lockFor(name), onStartedLeading: () => {} });
    const a = mk('a');
    const b = mk('b');
    a.start();
    await eventually(() => a.isLeader());
    b.start();
    await eventually(() => b.leader() === 'a');
    expect(b.isLeader()).toBe(false);
    await a.stop();
    await eventually(() => b.isLeader(), 5_000);
    expect(b.leader()).toBe('b');
    await b.stop();
  });
});

describe.runIf(realKubeConfig === undefined)('KubernetesLeaseLock faults (fake API server only)', () => {
  it('writes MicroTime with six fractional digits; a three-digit time would be a 400 from the server', async () => {
    const server = fake as FakeLeaseServer;
    const name = leaseName();
    await lockFor(name).create(record('a'), signal());
    const post = server.requests.filter((r) => r.method === 'POST').at(-1);
    expect((post?.body?.spec as Record<string, unknown> | undefined)?.renewTime).toBe(
      '2026-11-25T23:41:57.123456Z',
    );
    const bad = await lockFor(leaseName())
      .create({ ...record('a'), renewTime: '2026-11-25T23:41:57.123Z' }, signal())
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(LockUnavailableError);
    expect((bad as LockUnavailableError).status).toBe(400);
    expect((bad as Error).message).toMatch(/BadRequest: Lease in version "v1" cannot be handled/);
  });

  it.each([500, 503, 429])('maps HTTP %i to LockUnavailableError with the Status message', async (code) => {
    const server = fake as FakeLeaseServer;
    server.faults.push({ kind: 'status', code });
    const err = await lockFor(leaseName())
      .get(signal())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockUnavailableError);
    expect((err as LockUnavailableError).status).toBe(code);
    expect((err as Error).message).toMatch(`injected ${code}`);
  });

  it('the abort signal really cancels a hung HTTP request', async () => {
    const server = fake as FakeLeaseServer;
    server.faults.push({ kind: 'hang' });
    const before = server.abortedHangs;
    const err = await lockFor(leaseName())
      .get(AbortSignal.timeout(100))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockUnavailableError);
    await eventually(() => server.abortedHangs === before + 1);
  });

  it('the watch reconnects after the server drops it and replays the current state', async () => {
    const server = fake as FakeLeaseServer;
    const name = leaseName();
    const lock = lockFor(name);
    const s1 = await lock.create(record('a'), signal());
    const seen: Array<LockState | undefined> = [];
    const stop = lock.watch((s) => seen.push(s));
    try {
      await eventually(() => seen.length === 1);
      server.dropWatches();
      await eventually(() => seen.length === 2);
      expect(seen[1]).toEqual(s1);
      const s2 = await lock.update(record('b'), s1.version, signal());
      await eventually(() => seen.length === 3);
      expect(seen[2]).toEqual(s2);
    } finally {
      stop();
    }
    await eventually(() => server.watcherCount() === 0);
  });

  it('an elector survives API errors: two failed renewals (500, 503) do not end the term', async () => {
    const server = fake as FakeLeaseServer;
    const name = leaseName();
    const events: string[] = [];
    const elector = new LeaderElector({
      leaseDurationMs: 30_000,
      renewDeadlineMs: 20_000,
      retryPeriodMs: 100,
      identity: 'a',
      lock: lockFor(name),
      onStartedLeading: () => {
        events.push('started');
      },
      onStoppedLeading: (reason) => {
        events.push(`stopped:${reason}`);
      },
    });
    elector.start();
    await eventually(() => elector.isLeader());
    server.faults.push({ kind: 'status', code: 500 }, { kind: 'status', code: 503 });
    await eventually(() => server.faults.length === 0);
    const puts = () => server.requests.filter((r) => r.method === 'PUT').length;
    const after = puts();
    await eventually(() => puts() > after + 1);
    expect(elector.isLeader()).toBe(true);
    expect(events).toEqual(['started']);
    await elector.stop();
    expect(events).toEqual(['started', 'stopped:stopped']);
    const lease = await kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace });
    expect(lease.spec?.holderIdentity).toBe('');
  });
});
