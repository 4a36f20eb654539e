import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubernetesObject,
  loadYaml,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1CustomResourceDefinition,
  V1MicroTime,
  Watch,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { eventually, statusOf, type TestCluster, testCluster, uniqueName, WIDGET_CRD } from './cluster.js';

// Conformance: written against a KubeConfig only, so it runs unchanged against a real cluster
// (EGW_TEST_KUBECONFIG=...). The embedded server gets a small watch window so 410 is reachable.
let cluster: TestCluster;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let ns: string;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function ensureWidgetCrd(): Promise<void> {
  const ext = cluster.kc.makeApiClient(ApiextensionsV1Api);
  try {
    // Through loadYaml so client-node keeps x-kubernetes-* keys (a plain object would lose them).
    await ext.createCustomResourceDefinition({
      body: loadYaml<V1CustomResourceDefinition>(stringify(WIDGET_CRD)),
    });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
  }
  await eventually(async () => {
    const crd = await ext.readCustomResourceDefinition({ name: 'widgets.example.com' });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
}

beforeAll(async () => {
  cluster = await testCluster({ watchWindow: 20 });
  core = cluster.kc.makeApiClient(CoreV1Api);
  custom = cluster.kc.makeApiClient(CustomObjectsApi);
  ns = uniqueName('conf');
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await ensureWidgetCrd();
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
  await cluster.close();
});

const widget = (name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}) => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name, labels },
  spec,
});
const wargs = () => ({ group: 'example.com', version: 'v1', namespace: ns, plural: 'widgets' });

describe('CRUD on built-ins', () => {
  it('creates, reads, replaces and deletes a ConfigMap with server-managed metadata', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'c1' }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const got = await core.readNamespacedConfigMap({ name: 'c1', namespace: ns });
    expect(got.data).toEqual({ a: '1' });
    got.data = { a: '2' };
    const replaced = await core.replaceNamespacedConfigMap({ name: 'c1', namespace: ns, body: got });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
    await core.deleteNamespacedConfigMap({ name: 'c1', namespace: ns });
    const err = await core.readNamespacedConfigMap({ name: 'c1', namespace: ns }).catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'configmaps "c1" not found',
    });
  });

  it('answers 409 AlreadyExists on a duplicate create', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dup' } } });
    const err = await core
      .createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dup' } } })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      message: 'configmaps "dup" already exists',
    });
  });

  it('answers 409 Conflict on a replace with a stale resourceVersion', async () => {
    const a = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'occ' }, data: { v: '0' } },
    });
    await core.replaceNamespacedConfigMap({ name: 'occ', namespace: ns, body: { ...a, data: { v: '1' } } });
    const err = await core
      .replaceNamespacedConfigMap({ name: 'occ', namespace: ns, body: { ...a, data: { v: '2' } } })
      .catch((e: unknown) => e);
    const st = statusOf(err);
    expect(st).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(st.message).toContain('the object has been modified');
  });

  it('refuses namespaced objects in a namespace that does not exist', async () => {
    const err = await core
      .createNamespacedConfigMap({ namespace: 'no-such-ns-x', body: { metadata: { name: 'x' } } })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'namespaces "no-such-ns-x" not found',
    });
  });

  it('keeps an object with finalizers until the last finalizer is removed', async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
    });
    await core.deleteNamespacedConfigMap({ name: 'fin', namespace: ns });
    const marked = await core.readNamespacedConfigMap({ name: 'fin', namespace: ns });
    expect(marked.metadata?.deletionTimestamp).toBeDefined();
    await core.patchNamespacedConfigMap(
      { name: 'fin', namespace: ns, body: { metadata: { finalizers: null } } },
      merge,
    );
    const err = await core.readNamespacedConfigMap({ name: 'fin', namespace: ns }).catch((e: unknown) => e);
    expect(statusOf(err).code).toBe(404);
  });

  it('filters pods by spec.nodeName and nodes by labels', async () => {
    const pod = (name: string, nodeName: string) => ({
      metadata: { name },
      spec: { nodeName, containers: [{ name: 'c', image: 'x' }] },
    });
    await core.createNamespacedPod({ namespace: ns, body: pod('p1', 'node-a') });
    await core.createNamespacedPod({ namespace: ns, body: pod('p2', 'node-b') });
    const onA = await core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nodeName=node-a' });
    expect(onA.items.map((p) => p.metadata?.name)).toEqual(['p1']);
    const notA = await core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.nodeName!=node-a' });
    expect(notA.items.map((p) => p.metadata?.name)).toEqual(['p2']);
  });

  it('stores core/v1 and events.k8s.io/v1 Events', async () => {
    const t = new V1MicroTime();
    await core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: 'e1' },
        involvedObject: { kind: 'Node', name: 'n1' },
        reason: 'Test',
        message: 'hello',
        type: 'Normal',
      },
    });
    const ev = cluster.kc.makeApiClient(EventsV1Api);
    await ev.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: 'e2' },
        eventTime: t,
        reportingController: 'egw/test',
        reportingInstance: 'i1',
        action: 'Test',
        reason: 'Test',
        type: 'Normal',
      },
    });
    const l = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'reason=Test' });
    expect(l.items.some((e) => e.metadata?.name === 'e1')).toBe(true);
    const l2 = await ev.listNamespacedEvent({ namespace: ns });
    expect(l2.items.map((e) => e.metadata?.name)).toContain('e2');
  });
});

describe('selectors and pagination', () => {
  beforeAll(async () => {
    const specs: [string, Record<string, string>][] = [
      ['s1', { app: 'a', tier: 'web' }],
      ['s2', { app: 'b', tier: 'web' }],
      ['s3', { app: 'c' }],
      ['s4', { other: 'x' }],
    ];
    for (const [name, labels] of specs) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name, labels: { sel: 'yes', ...labels } } },
      });
    }
  });

  const names = async (labelSelector: string) =>
    (await core.listNamespacedConfigMap({ namespace: ns, labelSelector: `sel=yes,${labelSelector}` })).items
      .map((c) => c.metadata?.name)
      .sort();

  it('supports =, !=, in, notin, exists and !exists', async () => {
    expect(await names('app=a')).toEqual(['s1']);
    expect(await names('app!=a')).toEqual(['s2', 's3', 's4']);
    expect(await names('app in (a,c)')).toEqual(['s1', 's3']);
    expect(await names('app notin (a,c)')).toEqual(['s2', 's4']);
    expect(await names('tier')).toEqual(['s1', 's2']);
    expect(await names('!tier')).toEqual(['s3', 's4']);
  });

  it('filters on metadata.name and rejects unsupported field labels', async () => {
    const l = await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name=s2' });
    expect(l.items.map((c) => c.metadata?.name)).toEqual(['s2']);
    const err = await core
      .listNamespacedConfigMap({ namespace: ns, fieldSelector: 'data.x=1' })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message: 'field label not supported: data.x',
    });
  });

  it('rejects a malformed label selector with 400', async () => {
    const err = await core
      .listNamespacedConfigMap({ namespace: ns, labelSelector: 'app in (a' })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(statusOf(err).message).toContain("expected: ',' or ')'");
  });

  it('pages with limit and continue and returns every object once', async () => {
    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page: { items: V1ConfigMap[]; metadata?: { _continue?: string } } =
        await core.listNamespacedConfigMap({
          namespace: ns,
          labelSelector: 'sel=yes',
          limit: 3,
          ...(cont ? { _continue: cont } : {}),
        });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((c) => c.metadata?.name ?? ''));
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont !== undefined);
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual(['s1', 's2', 's3', 's4']);
  });
});

describe('custom resources', () => {
  it('applies schema defaults and keeps preserve-unknown-fields content', async () => {
    const w = (await custom.createNamespacedCustomObject({
      ...wargs(),
      body: widget('d1', { size: 2, extra: { any: { thing: 1 } } }),
    })) as {
      spec: Record<string, unknown>;
    };
    expect(w.spec).toEqual({ size: 2, color: 'red', extra: { any: { thing: 1 } } });
  });

  it('rejects schema violations with 422 and field causes', async () => {
    const err = await custom
      .createNamespacedCustomObject({ ...wargs(), body: widget('bad', { size: 0, color: 'green' }) })
      .catch((e: unknown) => e);
    const st = statusOf(err);
    expect(st).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(st.message).toBe(
      'Widget.example.com "bad" is invalid: [spec.color: Unsupported value: "green": supported values: "red", "blue", spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1]',
    );
    expect(st.details?.causes?.map((c) => c.field).sort()).toEqual(['spec.color', 'spec.size']);
    const err2 = await custom
      .createNamespacedCustomObject({ ...wargs(), body: widget('bad3', {}) })
      .catch((e: unknown) => e);
    expect(statusOf(err2).message).toBe('Widget.example.com "bad3" is invalid: spec.size: Required value');
    const err3 = await custom
      .createNamespacedCustomObject({ ...wargs(), body: widget('bad4', { size: 1, addr: 'nope' }) })
      .catch((e: unknown) => e);
    expect(statusOf(err3)).toMatchObject({ code: 422 });
    expect(statusOf(err3).details?.causes?.[0]?.field).toBe('spec.addr');
  });

  it('prunes unknown fields, or rejects them with 400 under fieldValidation=Strict', async () => {
    const w = (await custom.createNamespacedCustomObject({
      ...wargs(),
      body: widget('p1', { size: 1, foo: 1 }),
    })) as { spec: Record<string, unknown> };
    expect(w.spec).toEqual({ size: 1, color: 'red' });
    const err = await custom
      .createNamespacedCustomObject({
        ...wargs(),
        body: widget('p2', { size: 1, foo: 1 }),
        fieldValidation: 'Strict',
      })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({
      code: 400,
      reason: 'BadRequest',
      message:
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.foo"',
    });
  });

  it('separates the status subresource from the main resource and bumps generation on spec changes only', async () => {
    const created = (await custom.createNamespacedCustomObject({
      ...wargs(),
      body: { ...widget('st', { size: 1 }), status: { phase: 'Ignored' } },
    })) as KubernetesObject & { status?: unknown };
    expect(created.status).toBeUndefined();
    expect(created.metadata?.generation).toBe(1);
    const s1 = (await custom.patchNamespacedCustomObjectStatus(
      { ...wargs(), name: 'st', body: { status: { phase: 'Ready' }, spec: { size: 9 } } },
      merge,
    )) as KubernetesObject & { spec: { size: number }; status: { phase: string } };
    expect(s1.status.phase).toBe('Ready');
    expect(s1.spec.size).toBe(1);
    expect(s1.metadata?.generation).toBe(1);
    const m1 = (await custom.patchNamespacedCustomObject(
      { ...wargs(), name: 'st', body: { status: { phase: 'Nope' }, spec: { size: 4 } } },
      merge,
    )) as KubernetesObject & {
      spec: { size: number };
      status: { phase: string };
    };
    expect(m1.status.phase).toBe('Ready');
    expect(m1.spec.size).toBe(4);
    expect(m1.metadata?.generation).toBe(2);
    const m2 = (await custom.patchNamespacedCustomObject(
      { ...wargs(), name: 'st', body: { metadata: { labels: { x: 'y' } } } },
      merge,
    )) as KubernetesObject;
    expect(m2.metadata?.generation).toBe(2);
  });

  it('answers 404 with the qualified resource name', async () => {
    const err = await custom.getNamespacedCustomObject({ ...wargs(), name: 'nope' }).catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ code: 404, message: 'widgets.example.com "nope" not found' });
  });
});

describe('watch', () => {
  function collect(path: string, params: Record<string, string | boolean>) {
    const events: { type: string; name: string; rv: string; code?: number }[] = [];
    let ended: unknown = null;
    const ctl = new Watch(cluster.kc).watch(
      path,
      params,
      (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number }) => {
        const e: { type: string; name: string; rv: string; code?: number } = {
          type,
          name: obj.metadata?.name ?? '',
          rv: obj.metadata?.resourceVersion ?? '',
        };
        if (obj.code !== undefined) e.code = obj.code;
        events.push(e);
      },
      (err: unknown) => {
        ended = err ?? 'done';
      },
    );
    return { events, ended: () => ended, stop: async () => (await ctl).abort() };
  }

  it('resumes from a resourceVersion without loss, in order', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const start = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'w0', labels: { watch: 'yes' } } },
    });
    const rv0 = start.metadata?.resourceVersion ?? '';
    for (let i = 1; i <= 3; i++) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: `w${i}`, labels: { watch: 'yes' } } },
      });
    }
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace: ns });
    const w = collect(path, { resourceVersion: rv0, labelSelector: 'watch=yes' });
    await eventually(() => w.events.length >= 4);
    expect(w.events.map((e) => `${e.type}:${e.name}`)).toEqual([
      'ADDED:w1',
      'ADDED:w2',
      'ADDED:w3',
      'DELETED:w1',
    ]);
    const mid = w.events[1]?.rv ?? '';
    await w.stop();
    const w2 = collect(path, { resourceVersion: mid, labelSelector: 'watch=yes' });
    await eventually(() => w2.events.length >= 2);
    await core.patchNamespacedConfigMap({ name: 'w2', namespace: ns, body: { data: { k: 'v' } } }, merge);
    await eventually(() => w2.events.length >= 3);
    expect(w2.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:w3', 'DELETED:w1', 'MODIFIED:w2']);
    const rvs = w2.events.map((e) => Number(e.rv));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    await w2.stop();
  });

  it('reports DELETED when an object stops matching the label selector', async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'leaver', labels: { stay: 'yes' } } },
    });
    const w = collect(`/api/v1/namespaces/${ns}/configmaps`, { labelSelector: 'stay=yes' });
    await eventually(() => w.events.length >= 1);
    await core.patchNamespacedConfigMap(
      { name: 'leaver', namespace: ns, body: { metadata: { labels: { stay: 'no' } } } },
      merge,
    );
    await eventually(() => w.events.length >= 2);
    expect(w.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:leaver', 'DELETED:leaver']);
    await w.stop();
  });

  it('answers a too-old resourceVersion with a 410 Expired ERROR event', async () => {
    if (cluster.embedded) {
      // Push more configmap writes than the embedded server's 20-event window.
      for (let i = 0; i < 25; i++)
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `fill-${i}` } } });
    }
    const w = collect(`/api/v1/namespaces/${ns}/configmaps`, { resourceVersion: '1' });
    await eventually(() => w.events.length >= 1 && w.ended() !== null);
    expect(w.events[0]).toMatchObject({ type: 'ERROR', code: 410 });
  });

  it('makes an informer relist after 410 and converge on the server state', async () => {
    let calls = 0;
    const list = async () => {
      calls++;
      const l = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'inf=yes' });
      // The first list pretends to be ancient: the watch from it gets 410 and the informer relists.
      if (calls === 1) l.metadata = { ...l.metadata, resourceVersion: '1' };
      return l;
    };
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'inf-1', labels: { inf: 'yes' } } },
    });
    const inf = makeInformer(cluster.kc, `/api/v1/namespaces/${ns}/configmaps`, list, 'inf=yes');
    const errors: unknown[] = [];
    inf.on('error', (e) => errors.push(e));
    await inf.start();
    await eventually(() => calls >= 2);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'inf-2', labels: { inf: 'yes' } } },
    });
    await eventually(() => inf.list(ns).length === 2);
    expect(
      inf
        .list(ns)
        .map((c) => c.metadata?.name)
        .sort(),
    ).toEqual(['inf-1', 'inf-2']);
    expect(errors).toEqual([]);
    await inf.stop();
  });
});

describe('leases', () => {
  it('lets exactly one of several concurrent renewals with the same resourceVersion win', async () => {
    const coord = cluster.kc.makeApiClient(CoordinationV1Api);
    const lease = await coord.createNamespacedLease({
      namespace: ns,
      body: {
        metadata: { name: 'leader' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 10, renewTime: new V1MicroTime() },
      },
    });
    for (let round = 0; round < 3; round++) {
      const current = await coord.readNamespacedLease({ name: 'leader', namespace: ns });
      const results = await Promise.allSettled(
        ['a', 'b', 'c', 'd', 'e'].map((holder) =>
          coord.replaceNamespacedLease({
            name: 'leader',
            namespace: ns,
            body: {
              ...current,
              spec: { ...current.spec, holderIdentity: holder, renewTime: new V1MicroTime() },
            },
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      expect(ok).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(statusOf(r.reason).code).toBe(409);
    }
    const final = await coord.readNamespacedLease({ name: 'leader', namespace: ns });
    expect(Number(final.metadata?.resourceVersion)).toBeGreaterThan(Number(lease.metadata?.resourceVersion));
  });
});
