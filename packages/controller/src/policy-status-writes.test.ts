import type { EgressClusterPolicy, EgressPolicy } from '@egressgateway/crds';
import type { PolicyStatusChange } from '@egressgateway/failover';
import {
  KubeApiError,
  type KubeClient,
  OwnWrites,
  type ResourceRef,
  silentLogger,
} from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { createControllerMetrics } from './metrics.js';
import type { Obj } from './objects.js';
import { PolicyStatusWrites } from './policy-status-writes.js';
import { WriteLog } from './write-log.js';

type Policy = EgressPolicy & Obj;

/** One patchStatus call the fake API server holds until the test settles it. */
interface Call {
  plural: string;
  name: string;
  node: string;
  answer(): void;
  fail(status: number): void;
}

/** Policies in a map, and an API server whose status writes wait for the test. */
function setup() {
  const store = new Map<string, Policy>();
  const clusterStore = new Map<string, EgressClusterPolicy & Obj>();
  const calls: Call[] = [];
  let version = 1;
  const patchStatus = (ref: ResourceRef, name: string, namespace: string | undefined, patch: object) =>
    new Promise((resolve, reject) => {
      const status = (patch as { status: { node: string } }).status;
      const key = namespace ? `${namespace}/${name}` : name;
      calls.push({
        plural: ref.plural,
        name,
        node: status.node,
        answer: () => {
          const written = {
            metadata: { name, namespace, resourceVersion: String(++version) },
            status,
          } as Policy;
          if (ref.plural === 'egresspolicies') store.set(key, written);
          else clusterStore.set(key, written as EgressClusterPolicy & Obj);
          resolve(written);
        },
        fail: (code) => reject(new KubeApiError(code, 'refused', `HTTP ${code}`)),
      });
    });
  const client = { patchStatus } as unknown as KubeClient;
  const informer = <T>(m: Map<string, T>) => ({ get: (k: string) => m.get(k), list: () => [...m.values()] });
  const own = {
    policies: new OwnWrites(informer(store)),
    clusterPolicies: new OwnWrites(informer(clusterStore)),
  };
  const retries: number[] = [];
  const metrics = createControllerMetrics();
  const writes = new PolicyStatusWrites({
    client,
    log: silentLogger,
    metrics,
    writeLog: new WriteLog({ now: () => 0 } as never),
    own,
    retryIn: (ms) => retries.push(ms),
  });
  for (let i = 0; i < 40; i++) {
    const name = `p${i}`;
    store.set(`default/${name}`, {
      metadata: { name, namespace: 'default', resourceVersion: '1' },
    } as Policy);
  }
  clusterStore.set('c0', { metadata: { name: 'c0', resourceVersion: '1' } } as EgressClusterPolicy & Obj);
  const settle = () => new Promise((r) => setImmediate(r));
  return { calls, own, retries, writes, metrics, store, settle };
}

const change = (name: string, node: string, kind: PolicyStatusChange['kind'] = 'EgressPolicy') =>
  ({
    kind,
    ...(kind === 'EgressPolicy' ? { namespace: 'default' } : {}),
    name,
    status: { eip: { ipv4: '198.18.0.10', ipv6: '' }, node },
  }) as PolicyStatusChange;

/** Changes placing p0..p(n-1) on `node`. */
const policiesOn = (node: string, n: number) => Array.from({ length: n }, (_, i) => change(`p${i}`, node));

describe('PolicyStatusWrites', () => {
  it('writes at most 4 at once, both kinds, and records each write in the own copies', async () => {
    const { calls, writes, own, settle, metrics } = setup();
    const term = new AbortController();
    writes.want([change('c0', 'node1', 'EgressClusterPolicy'), ...policiesOn('node1', 40)], term.signal);
    await settle();
    expect(calls).toHaveLength(4);
    expect(writes.backlog).toBe(41 - 4);
    expect((await metrics.policyStatusBacklog.get()).values[0]?.value).toBe(41 - 4);
    expect(calls[0]?.plural).toBe('egressclusterpolicies');
    // Each settled write starts the next one.
    for (let i = 0; i < 41; i++) {
      calls[i]?.answer();
      await settle();
    }
    expect(calls).toHaveLength(41);
    expect(writes.backlog).toBe(0);
    expect(own.policies.get('default/p39')?.status?.node).toBe('node1');
    expect(own.clusterPolicies.get('c0')?.status?.node).toBe('node1');
    // The informer delivering the version this wrote needs no reconcile (once); another version does.
    const mine = own.policies.get('default/p39') as Policy;
    expect(writes.delivered('EgressClusterPolicy', mine)).toBe(false);
    expect(
      writes.delivered('EgressPolicy', { ...mine, metadata: { ...mine.metadata, resourceVersion: '999' } }),
    ).toBe(false);
    expect(writes.delivered('EgressPolicy', mine)).toBe(true);
    expect(writes.delivered('EgressPolicy', mine)).toBe(false);
    expect(writes.delivered('EgressClusterPolicy', own.clusterPolicies.get('c0') as Policy)).toBe(true);
  });

  it('never runs two writes of one policy: a newer wish waits, and a wish for the status being written adds nothing', async () => {
    const { calls, writes, settle, own } = setup();
    const term = new AbortController();
    writes.want([change('p0', 'node1')], term.signal);
    await settle();
    // The engine, still reading the old copy, asks for the same status again: nothing new starts.
    writes.want([change('p0', 'node1')], term.signal);
    await settle();
    expect(calls).toHaveLength(1);
    expect(writes.backlog).toBe(0);
    // A newer decision moves it: the newer write waits for the running one.
    writes.want([change('p0', 'node2')], term.signal);
    await settle();
    expect(calls).toHaveLength(1);
    expect(writes.backlog).toBe(1);
    calls[0]?.answer();
    await settle();
    expect(calls.map((c) => c.node)).toEqual(['node1', 'node2']);
    calls[1]?.answer();
    await settle();
    expect(own.policies.get('default/p0')?.status?.node).toBe('node2');
  });

  it('the newest decision wins: a wish it no longer lists is dropped before it starts', async () => {
    const { calls, writes, settle } = setup();
    const term = new AbortController();
    writes.want(policiesOn('node1', 20), term.signal);
    await settle();
    expect(writes.backlog).toBe(16);
    // The next decision lists only p0 and p19 (p4-p18 are as the engine wants them again).
    writes.want([change('p0', 'node1'), change('p19', 'node2')], term.signal);
    for (const c of [...calls]) c.answer();
    await settle();
    expect(calls.slice(4).map((c) => `${c.name}@${c.node}`)).toEqual(['p19@node2']);
  });

  it('a conflict or a vanished policy asks for a reconcile in 20 ms, any other failure in 1 s; nothing is retried blindly', async () => {
    const { calls, writes, settle, retries } = setup();
    const term = new AbortController();
    writes.want([change('p0', 'node1'), change('p1', 'node1'), change('p2', 'node1')], term.signal);
    await settle();
    calls[0]?.fail(409);
    calls[1]?.fail(404);
    calls[2]?.fail(500);
    await settle();
    expect(retries).toEqual([20, 20, 1000]);
    expect(calls).toHaveLength(3);
    // The next decision asks again, and the writes go out again.
    writes.want([change('p0', 'node1')], term.signal);
    await settle();
    expect(calls).toHaveLength(4);
  });

  it('at the end of the term nothing more starts, and whenIdle waits for the writes already running', async () => {
    const { calls, writes, settle } = setup();
    const term = new AbortController();
    writes.want(policiesOn('node1', 20), term.signal);
    await settle();
    term.abort();
    expect(writes.backlog).toBe(0);
    let idle = false;
    void writes.whenIdle().then(() => {
      idle = true;
    });
    for (let i = 0; i < 3; i++) calls[i]?.answer();
    await settle();
    expect(idle).toBe(false);
    calls[3]?.answer();
    await settle();
    expect(idle).toBe(true);
    expect(calls).toHaveLength(4);
    // A wish of the ended term is ignored; the next term starts from nothing.
    writes.want([change('p0', 'node2')], term.signal);
    await settle();
    expect(calls).toHaveLength(4);
    const next = new AbortController();
    writes.want([change('p0', 'node2')], next.signal);
    await settle();
    expect(calls).toHaveLength(5);
  });

  it('while held (an eviction being written), no write starts; the running ones go on', async () => {
    const { calls, writes, settle, metrics } = setup();
    const term = new AbortController();
    writes.want([change('p0', 'node1'), change('p1', 'node1')], term.signal);
    await settle();
    expect(calls).toHaveLength(2);
    const release = writes.hold();
    const second = writes.hold();
    writes.want([change('p0', 'node1'), change('p1', 'node1'), change('p2', 'node1')], term.signal);
    calls[0]?.answer();
    await settle();
    expect(calls).toHaveLength(2);
    expect((await metrics.policyStatusBacklog.get()).values[0]?.value).toBe(1);
    release();
    release(); // a second call of one release changes nothing
    await settle();
    expect(calls).toHaveLength(2);
    second();
    await settle();
    expect(calls.map((c) => c.name)).toEqual(['p0', 'p1', 'p2']);
  });
});
