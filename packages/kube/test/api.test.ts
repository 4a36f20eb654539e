import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { customResourceDefinitions, type EgressTunnel } from '@egressgateway/crds';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EGRESS_TUNNELS,
  EventRecorder,
  Informer,
  KubeClient,
  KubeEventSink,
  NODES,
  updateStatus,
} from '../src/index.js';

// Runs against the embedded API server, or a real cluster when EGW_TEST_KUBECONFIG is set.
let server: ApiServer | undefined;
let kc: KubeConfig;
let client: KubeClient;

beforeAll(async () => {
  kc = new KubeConfig();
  if (process.env.EGW_TEST_KUBECONFIG) kc.loadFromFile(process.env.EGW_TEST_KUBECONFIG);
  else {
    server = await startApiServer({});
    kc.loadFromString(server.kubeconfigYaml);
  }
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const crd of customResourceDefinitions()) await objects.create(crd as never).catch(() => undefined);
  client = new KubeClient(kc);
});
afterAll(async () => server?.close());

const until = async (what: string, probe: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('KubeClient and Informer against an API server', () => {
  it('lists, then follows creates, status changes and deletes', async () => {
    await client.create(EGRESS_TUNNELS, { metadata: { name: 'inf-a' }, spec: {} });
    const seen: string[] = [];
    const inf = new Informer<EgressTunnel>(
      client.listWatch(EGRESS_TUNNELS),
      { name: 'egresstunnels' },
      {
        onAdd: (t) => seen.push(`add ${t.metadata?.name}`),
        onUpdate: (_, t) => seen.push(`update ${t.metadata?.name} ${t.status?.phase}`),
        onDelete: (t) => seen.push(`delete ${t.metadata?.name}`),
      },
    );
    inf.start();
    await inf.waitForSync();
    expect(inf.get('inf-a')).toBeDefined();
    await client.create(EGRESS_TUNNELS, { metadata: { name: 'inf-b' }, spec: {} });
    await client.patchStatus(EGRESS_TUNNELS, 'inf-b', undefined, { status: { phase: 'Init' } });
    await client.delete(EGRESS_TUNNELS, 'inf-a');
    await until('all events', () => seen.includes('delete inf-a'));
    expect(seen).toEqual(['add inf-a', 'add inf-b', 'update inf-b Init', 'delete inf-a']);
    await inf.stop();
  });

  it('updateStatus retries a conflict against a fresh read and writes nothing when unchanged', async () => {
    await client.create(EGRESS_TUNNELS, { metadata: { name: 'st-a' }, spec: {} });
    const stale = await client.get<EgressTunnel>(EGRESS_TUNNELS, 'st-a');
    // Someone else writes first: the cached copy is now stale.
    await client.patchStatus(EGRESS_TUNNELS, 'st-a', undefined, { status: { mark: '0x26000001' } });
    const r = await updateStatus(client, EGRESS_TUNNELS, 'st-a', undefined, stale, (cur) =>
      cur.status?.phase === 'Pending' ? undefined : { phase: 'Pending' },
    );
    expect(r).toMatchObject({ written: true, attempts: 2 });
    const now = await client.get<EgressTunnel>(EGRESS_TUNNELS, 'st-a');
    expect(now.status).toEqual({ mark: '0x26000001', phase: 'Pending' });
    const again = await updateStatus(client, EGRESS_TUNNELS, 'st-a', undefined, now, (cur) =>
      cur.status?.phase === 'Pending' ? undefined : { phase: 'Pending' },
    );
    expect(again).toEqual({ written: false, reason: 'unchanged', attempts: 1 });
    expect(
      await updateStatus(client, EGRESS_TUNNELS, 'missing', undefined, undefined, () => ({ phase: 'Ready' })),
    ).toEqual({
      written: false,
      reason: 'not-found',
      attempts: 1,
    });
  });

  it('lists built-in kinds with kind and apiVersion filled in', async () => {
    await client.create(NODES, { metadata: { name: 'n1', labels: { egress: 'true' } } });
    const { items, resourceVersion } = await client.list<{ kind?: string; metadata?: { name?: string } }>(
      NODES,
      {
        labelSelector: 'egress=true',
      },
    );
    expect(items.map((n) => [n.kind, n.metadata?.name])).toEqual([['Node', 'n1']]);
    expect(resourceVersion).not.toBe('');
  });

  it('records events through the API and counts repeats on the same Event', async () => {
    const rec = new EventRecorder(new KubeEventSink(kc), { component: 'egw-test', instance: 't1' });
    const e = {
      type: 'Normal' as const,
      reason: 'EIPMoved',
      message: 'moved',
      involvedObject: { kind: 'EgressGateway', name: 'egw-ev' },
    };
    rec.record(e);
    rec.record(e);
    await rec.flush();
    const core = kc.makeApiClient((await import('@kubernetes/client-node')).CoreV1Api);
    const list = await core
      .listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=egw-ev' })
      .catch(async () => core.listNamespacedEvent({ namespace: 'default' }));
    const mine = list.items.filter((x) => x.involvedObject.name === 'egw-ev');
    expect(mine).toHaveLength(1);
    expect(mine[0]?.count).toBe(2);
    expect(mine[0]?.reason).toBe('EIPMoved');
  });
});
