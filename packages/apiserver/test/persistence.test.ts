import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
  Watch,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ApiServer, type ApiServerOptions, JOURNAL_FILE, startApiServer } from '../src/index.js';
import { eventually, WIDGET_CRD } from './cluster.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const dirs: string[] = [];
const servers: ApiServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(
  dataDir: string,
  extra: Partial<ApiServerOptions> = {},
): Promise<{ server: ApiServer; kc: KubeConfig }> {
  const server = await startApiServer({ port: 0, dataDir, ...extra });
  servers.push(server);
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  return { server, kc };
}

describe('--data-dir persistence', () => {
  it('restarts with the same objects, resourceVersions, CRDs and a resumable watch', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'egw-data-'));
    dirs.push(dataDir);
    const a = await start(dataDir);
    const coreA = a.kc.makeApiClient(CoreV1Api);
    await a.kc
      .makeApiClient(ApiextensionsV1Api)
      .createCustomResourceDefinition({ body: loadYaml<V1CustomResourceDefinition>(stringify(WIDGET_CRD)) });
    const w = (await a.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'keep' }, spec: { size: 2 } },
    })) as { metadata: { resourceVersion: string; uid: string } };
    const c1 = await coreA.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'c1' }, data: { a: '1' } },
    });
    const seenRv = c1.metadata?.resourceVersion ?? '';
    // Writes a watcher at `seenRv` has not seen yet when the server goes down.
    await coreA.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c2' } } });
    await coreA.deleteNamespacedConfigMap({ name: 'c1', namespace: 'default' });
    const rvBefore = (await coreA.listNamespacedConfigMap({ namespace: 'default' })).metadata
      ?.resourceVersion;
    await a.server.close();

    const b = await start(dataDir);
    const coreB = b.kc.makeApiClient(CoreV1Api);
    const list = await coreB.listNamespacedConfigMap({ namespace: 'default' });
    expect(list.metadata?.resourceVersion).toBe(rvBefore);
    expect(list.items.map((c) => c.metadata?.name)).toEqual(['c2']);
    const again = (await b.kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      name: 'keep',
    })) as { metadata: { resourceVersion: string; uid: string } };
    expect(again.metadata).toMatchObject({
      resourceVersion: w.metadata.resourceVersion,
      uid: w.metadata.uid,
    });

    const events: string[] = [];
    const ctl = await new Watch(b.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: seenRv },
      (type, obj: { metadata: { name: string } }) => events.push(`${type}:${obj.metadata.name}`),
      () => {},
    );
    await coreB.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c3' } } });
    await eventually(() => events.length >= 3);
    expect(events).toEqual(['ADDED:c2', 'DELETED:c1', 'ADDED:c3']);
    const created = await coreB.readNamespacedConfigMap({ name: 'c3', namespace: 'default' });
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(Number(rvBefore));
    ctl.abort();
  });

  it('drops a torn last journal line (a write that was never acknowledged) and keeps everything before it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'egw-data-'));
    dirs.push(dataDir);
    const a = await start(dataDir);
    await a.kc
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'acked' } } });
    await a.server.close();
    appendFileSync(
      join(dataDir, JOURNAL_FILE),
      '{"rv":99,"type":"ADDED","key":"/configmaps","object":{"metadata":{"na',
    );
    const logLines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => logLines.push(JSON.parse(l)) });
    const b = await start(dataDir, { logger });
    // The drop is logged with what was dropped: where, how much, and how it began.
    const warn = logLines.find((l) => l.msg === 'journal torn last record dropped');
    expect(warn).toMatchObject({
      level: 40,
      line: 6, // after the four default namespaces and the acknowledged ConfigMap
      bytes: 69,
      start: '{"rv":99,"type":"ADDED","key":"/configmaps","object":{"metadata":{"na',
    });
    const names = (
      await b.kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' })
    ).items.map((c) => c.metadata?.name);
    expect(names).toEqual(['acked']);
    expect(readFileSync(join(dataDir, JOURNAL_FILE), 'utf8').endsWith('\n')).toBe(true);
    await b.kc
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after' } } });
    await b.server.close();
    const c = await start(dataDir);
    const names2 = (
      await c.kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' })
    ).items.map((x) => x.metadata?.name);
    expect(names2).toEqual(['acked', 'after']);
  });

  it('compacts a long journal at start and still resumes watches inside the retained window', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'egw-data-'));
    dirs.push(dataDir);
    const opts = { watchWindow: 5, compactMinRecords: 20 };
    const a = await start(dataDir, opts);
    const core = a.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'hot', labels: { w: 'y' } } },
    });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cold' } } });
    const rvs: string[] = [];
    for (let i = 0; i < 30; i++) {
      const o = await core.patchNamespacedConfigMap(
        { name: 'hot', namespace: 'default', body: { data: { i: String(i) } } },
        merge,
      );
      rvs.push(o.metadata?.resourceVersion ?? '');
    }
    await a.server.close();
    const linesBefore = readFileSync(join(dataDir, JOURNAL_FILE), 'utf8').trim().split('\n').length;

    const b = await start(dataDir, opts);
    const linesAfter = readFileSync(join(dataDir, JOURNAL_FILE), 'utf8').trim().split('\n').length;
    expect(linesAfter).toBeLessThan(linesBefore / 2);
    const coreB = b.kc.makeApiClient(CoreV1Api);
    const hot = await coreB.readNamespacedConfigMap({ name: 'hot', namespace: 'default' });
    expect(hot.metadata?.resourceVersion).toBe(rvs[29]);
    expect(hot.data).toEqual({ i: '29' });
    expect((await coreB.readNamespacedConfigMap({ name: 'cold', namespace: 'default' })).metadata?.name).toBe(
      'cold',
    );

    const events: string[] = [];
    const ctl = await new Watch(b.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: rvs[26] ?? '' },
      (type, obj: { data?: { i?: string } }) => events.push(`${type}:${obj.data?.i ?? ''}`),
      () => {},
    );
    await eventually(() => events.length >= 3);
    expect(events).toEqual(['MODIFIED:27', 'MODIFIED:28', 'MODIFIED:29']);
    ctl.abort();
    const gone: string[] = [];
    await new Watch(b.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: rvs[5] ?? '' },
      (type, obj: { code?: number }) => gone.push(`${type}:${obj.code ?? ''}`),
      () => {},
    );
    await eventually(() => gone.length >= 1);
    expect(gone).toEqual(['ERROR:410']);
    // Writes after compaction append to the compacted journal and survive another restart.
    await coreB.deleteNamespacedConfigMap({ name: 'cold', namespace: 'default' });
    await b.server.close();
    const c = await start(dataDir, opts);
    const names = (
      await c.kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' })
    ).items.map((x) => x.metadata?.name);
    expect(names).toEqual(['hot']);
  });
});
