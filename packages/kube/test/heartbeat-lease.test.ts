import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HEARTBEAT_EVICTED_ANNOTATION,
  HEARTBEAT_LEASE_SELECTOR,
  type HeartbeatLease,
  heartbeatLeaseEvicted,
  heartbeatLeaseName,
  KubeClient,
  type KubeObject,
  LEASES,
  type ResourceRef,
  renewHeartbeatLease,
  toMicroTime,
} from '../src/index.js';

// Runs against the embedded API server, or a real cluster when EGW_TEST_KUBECONFIG is set.
let server: ApiServer | undefined;
let client: KubeClient;
const ns = 'default';

beforeAll(async () => {
  const kc = new KubeConfig();
  if (process.env.EGW_TEST_KUBECONFIG) kc.loadFromFile(process.env.EGW_TEST_KUBECONFIG);
  else {
    server = await startApiServer({});
    kc.loadFromString(server.kubeconfigYaml);
  }
  client = new KubeClient(kc);
});
afterAll(async () => server?.close());

describe('heartbeatLeaseName', () => {
  it('is the prefix and the node name, and stays a distinct valid name for very long node names', () => {
    expect(heartbeatLeaseName('node1')).toBe('egressgateway-heartbeat-node1');
    const long = `${'a'.repeat(240)}.example`;
    const other = `${'a'.repeat(240)}.exampla`;
    expect(heartbeatLeaseName(long).length).toBeLessThanOrEqual(253);
    expect(heartbeatLeaseName(long)).not.toBe(heartbeatLeaseName(other));
  });

  it('toMicroTime writes six fractional digits', () => {
    expect(toMicroTime(Date.UTC(2026, 11, 5, 22, 0, 0, 123))).toBe('2026-12-05T22:00:00.123000Z');
  });
});

describe('renewHeartbeatLease', () => {
  it('creates the labelled Lease, renews it with the precondition, and survives a foreign write', async () => {
    const base = { node: 'hb-a', namespace: ns, evictionTimeoutMs: 2500 };
    const first = await renewHeartbeatLease(client, { ...base, sentAt: 1_000 });
    expect(first.metadata?.name).toBe('egressgateway-heartbeat-hb-a');
    expect(first.spec).toMatchObject({
      holderIdentity: 'hb-a',
      renewTime: toMicroTime(1_000),
      leaseDurationSeconds: 3,
    });
    const listed = await client.list<HeartbeatLease>(LEASES, {
      namespace: ns,
      labelSelector: HEARTBEAT_LEASE_SELECTOR,
    });
    expect(listed.items.map((l) => l.metadata?.name)).toContain('egressgateway-heartbeat-hb-a');

    const second = await renewHeartbeatLease(client, { ...base, sentAt: 2_000, previous: first });
    expect(second.spec?.renewTime).toBe(toMicroTime(2_000));
    expect(heartbeatLeaseEvicted(second)).toBe(false);

    // The controller marks an eviction with the Lease's resourceVersion as precondition.
    await client.patchMerge(LEASES, heartbeatLeaseName('hb-a'), ns, {
      metadata: {
        resourceVersion: second.metadata?.resourceVersion,
        annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: second.spec?.renewTime },
      },
    });
    // A renewal from the stale copy conflicts, re-reads, lands on top and reports the eviction.
    const third = await renewHeartbeatLease(client, { ...base, sentAt: 3_000, previous: second });
    expect(third.spec?.renewTime).toBe(toMicroTime(3_000));
    expect(heartbeatLeaseEvicted(third)).toBe(true);
    // A controller write judged on the Lease before that renewal now conflicts.
    await expect(
      client.patchMerge(LEASES, heartbeatLeaseName('hb-a'), ns, {
        metadata: { resourceVersion: second.metadata?.resourceVersion, annotations: { x: 'y' } },
      }),
    ).rejects.toMatchObject({ status: 409 });
  });

  it('a restarted agent renews even when the controller marks the Lease between its read and its update', async () => {
    const base = { node: 'hb-c', namespace: ns, evictionTimeoutMs: 1000 };
    await renewHeartbeatLease(client, { ...base, sentAt: 1_000 });
    // A client whose first read of the Lease is followed at once by the controller's mark.
    let marked = false;
    const racing = Object.create(client) as KubeClient;
    racing.get = async <T extends KubeObject>(ref: ResourceRef, name: string, namespace?: string) => {
      const got = await client.get<T>(ref, name, namespace);
      if (!marked) {
        marked = true;
        await client.patchMerge(LEASES, name, namespace, {
          metadata: { annotations: { [HEARTBEAT_EVICTED_ANNOTATION]: 'x' } },
        });
      }
      return got;
    };
    // create (409), read, update (409: the mark), read, update: acknowledged, with the mark.
    const renewed = await renewHeartbeatLease(racing, { ...base, sentAt: 2_000 });
    expect(marked).toBe(true);
    expect(renewed.spec?.renewTime).toBe(toMicroTime(2_000));
    expect(heartbeatLeaseEvicted(renewed)).toBe(true);
  });

  it('renews on top of a Lease left by an earlier life of the agent, and recreates a deleted one', async () => {
    const base = { node: 'hb-b', namespace: ns, evictionTimeoutMs: 1000 };
    await renewHeartbeatLease(client, { ...base, sentAt: 1_000 });
    const again = await renewHeartbeatLease(client, { ...base, sentAt: 2_000 });
    expect(again.spec?.renewTime).toBe(toMicroTime(2_000));
    await client.delete(LEASES, heartbeatLeaseName('hb-b'), ns);
    const recreated = await renewHeartbeatLease(client, { ...base, sentAt: 3_000, previous: again });
    expect(recreated.spec?.renewTime).toBe(toMicroTime(3_000));
  });
});
