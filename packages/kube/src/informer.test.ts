import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Informer, type ListResult, type ListWatch, type WatchEvent } from './informer.js';

interface Obj {
  metadata: { name: string; resourceVersion: string };
  spec?: { v: number };
}
const obj = (name: string, rv: number, v = 0): Obj => ({
  metadata: { name, resourceVersion: String(rv) },
  spec: { v },
});

/** A scripted API: list answers and watch sessions the test drives. */
class FakeApi implements ListWatch<Obj> {
  lists: Array<() => ListResult<Obj> | Error> = [];
  listCalls = 0;
  watchCalls: string[] = [];
  session:
    | { emit(e: WatchEvent<Obj>): void; end(): void; fail(err: unknown): void; signal: AbortSignal }
    | undefined;
  watchFailures: unknown[] = [];

  async list(): Promise<ListResult<Obj>> {
    this.listCalls++;
    const next = this.lists.shift();
    if (!next) throw new Error('unexpected list');
    const r = next();
    if (r instanceof Error) throw r;
    return r;
  }

  watch(rv: string, onEvent: (e: WatchEvent<Obj>) => void, signal: AbortSignal): Promise<void> {
    this.watchCalls.push(rv);
    const failure = this.watchFailures.shift();
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => resolve(), { once: true });
      this.session = { emit: onEvent, end: resolve, fail: reject, signal };
    });
  }
}

const tick = () => vi.advanceTimersByTimeAsync(0);

/** Its list answers only when the test releases it. */
class SlowListApi extends FakeApi {
  release: () => void = () => undefined;
  override async list(): Promise<ListResult<Obj>> {
    await new Promise<void>((r) => {
      this.release = r;
    });
    return super.list();
  }
}

describe('Informer', () => {
  let api: FakeApi;
  const events: string[] = [];
  const handlers = {
    onAdd: (o: Obj) => events.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onUpdate: (_: Obj, o: Obj) => events.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`),
    onDelete: (o: Obj) => events.push(`delete ${o.metadata.name}`),
  };

  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeApi();
    events.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('lists, syncs, then applies watch events and tracks the resourceVersion', async () => {
    api.lists.push(() => ({ items: [obj('a', 1), obj('b', 2)], resourceVersion: '5' }));
    const inf = new Informer(api, { name: 't' }, handlers);
    inf.start();
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    await tick();
    expect(api.watchCalls).toEqual(['5']);
    api.session?.emit({ type: 'MODIFIED', object: obj('a', 6, 1) });
    api.session?.emit({ type: 'ADDED', object: obj('c', 7) });
    api.session?.emit({ type: 'DELETED', object: obj('b', 8) });
    api.session?.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } });
    expect(events).toEqual(['add a@1', 'add b@2', 'update a@6', 'add c@7', 'delete b']);
    expect(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(inf.get('a')?.spec?.v).toBe(1);
    expect(inf.lastResourceVersion).toBe('9');
    // A normal end of the stream resumes from the bookmark without a relist.
    api.session?.end();
    await tick();
    expect(api.watchCalls).toEqual(['5', '9']);
    expect(api.listCalls).toBe(1);
    await inf.stop();
  });

  it('drops metadata.managedFields from cached objects unless asked to keep them', async () => {
    const managed = (name: string, rv: number) => {
      const o = obj(name, rv) as Obj & { metadata: { managedFields?: unknown[] } };
      o.metadata.managedFields = [{ manager: 'kubectl', operation: 'Apply' }];
      return o;
    };
    api.lists.push(() => ({ items: [managed('a', 1)], resourceVersion: '1' }));
    const inf = new Informer(api, { name: 't' }, handlers);
    inf.start();
    await tick();
    api.session?.emit({ type: 'ADDED', object: managed('b', 2) });
    expect(inf.get('a')?.metadata).toEqual({ name: 'a', resourceVersion: '1' });
    expect(inf.get('b')?.metadata).toEqual({ name: 'b', resourceVersion: '2' });
    await inf.stop();

    const keep = new FakeApi();
    keep.lists.push(() => ({ items: [managed('a', 1)], resourceVersion: '1' }));
    const kept = new Informer(keep, { name: 't', keepManagedFields: true });
    kept.start();
    await tick();
    expect(kept.get('a')?.metadata).toHaveProperty('managedFields');
    await kept.stop();
  });

  it('caches and hands out only what transform keeps, from lists and every watch event', async () => {
    const big = (name: string, rv: number, v: number) => ({ ...obj(name, rv, v), bulk: 'x'.repeat(1000) });
    api.lists.push(() => ({ items: [big('a', 1, 1)], resourceVersion: '1' }));
    const seen: unknown[] = [];
    const inf = new Informer(
      api,
      { name: 't', transform: (o: Obj) => ({ metadata: o.metadata, spec: { v: (o.spec?.v ?? 0) * 10 } }) },
      { onAdd: (o) => seen.push(o), onUpdate: (_, o) => seen.push(o), onDelete: (o) => seen.push(o) },
    );
    inf.start();
    await tick();
    api.session?.emit({ type: 'MODIFIED', object: big('a', 2, 2) });
    api.session?.emit({ type: 'ADDED', object: big('b', 3, 3) });
    api.session?.emit({ type: 'DELETED', object: big('b', 4, 4) });
    expect(inf.get('a')).toEqual({ metadata: { name: 'a', resourceVersion: '2' }, spec: { v: 20 } });
    expect(seen.map((o) => JSON.stringify(o))).toEqual([
      '{"metadata":{"name":"a","resourceVersion":"1"},"spec":{"v":10}}',
      '{"metadata":{"name":"a","resourceVersion":"2"},"spec":{"v":20}}',
      '{"metadata":{"name":"b","resourceVersion":"3"},"spec":{"v":30}}',
      '{"metadata":{"name":"b","resourceVersion":"4"},"spec":{"v":40}}',
    ]);
    await inf.stop();
  });

  it('keeps the cached object, and tells no handler, when cacheWhen says an update changes nothing', async () => {
    api.lists.push(() => ({ items: [obj('a', 1, 1)], resourceVersion: '1' }));
    const inf = new Informer(
      api,
      { name: 't', cacheWhen: (a: Obj, b: Obj) => a.spec?.v !== b.spec?.v },
      handlers,
    );
    inf.start();
    await tick();
    const first = inf.get('a');
    api.session?.emit({ type: 'MODIFIED', object: obj('a', 2, 1) });
    expect(inf.get('a')).toBe(first);
    api.session?.emit({ type: 'MODIFIED', object: obj('a', 3, 5) });
    expect(inf.get('a')?.spec).toEqual({ v: 5 });
    // The stream position still advanced past the dropped update.
    expect(inf.lastResourceVersion).toBe('3');
    expect(events).toEqual(['add a@1', 'update a@3']);
    await inf.stop();
  });

  it('relists on 410 Gone and reports objects deleted meanwhile', async () => {
    api.lists.push(() => ({ items: [obj('a', 1), obj('b', 2)], resourceVersion: '2' }));
    api.lists.push(() => ({ items: [obj('a', 1), obj('c', 40)], resourceVersion: '41' }));
    const onError = vi.fn();
    const inf = new Informer(api, { name: 't', onError }, handlers);
    inf.start();
    await tick();
    api.session?.emit({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired', message: 'too old resource version' },
    });
    await tick();
    expect(api.listCalls).toBe(2);
    expect(events).toEqual(['add a@1', 'add b@2', 'add c@40', 'delete b']);
    expect(api.watchCalls).toEqual(['2', '41']);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ status: 410 }), 'relist');
    await inf.stop();
  });

  it('retries other errors with backoff, keeping the cache and the resourceVersion', async () => {
    api.lists.push(() => new Error('connect ECONNREFUSED'));
    api.lists.push(() => ({ items: [obj('a', 1)], resourceVersion: '3' }));
    const inf = new Informer(api, { name: 't', random: () => 0.5, backoff: { initialMs: 100 } }, handlers);
    inf.start();
    await tick();
    expect(inf.hasSynced()).toBe(false);
    await vi.advanceTimersByTimeAsync(99);
    expect(api.listCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.listCalls).toBe(2);
    expect(inf.hasSynced()).toBe(true);
    // A watch that fails with a 500 is retried from the same resourceVersion after 100 ms.
    api.session?.fail(Object.assign(new Error('boom'), { statusCode: 500 }));
    await tick();
    expect(api.watchCalls).toEqual(['3']);
    await vi.advanceTimersByTimeAsync(100);
    expect(api.watchCalls).toEqual(['3', '3']);
    expect(api.listCalls).toBe(2);
    expect(inf.list()).toHaveLength(1);
    await inf.stop();
  });

  it('backs off exponentially while failures repeat, and resets after progress', async () => {
    api.lists.push(() => ({ items: [], resourceVersion: '1' }));
    api.watchFailures = [new Error('a'), new Error('b'), new Error('c')];
    const inf = new Informer(api, { name: 't', random: () => 0.5, backoff: { initialMs: 100, maxMs: 250 } });
    inf.start();
    await tick();
    expect(api.watchCalls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(api.watchCalls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(199);
    expect(api.watchCalls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.watchCalls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(250); // capped at maxMs
    expect(api.watchCalls).toHaveLength(4);
    // This stream delivers an event, then fails: the next retry waits the initial delay again.
    api.session?.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '2' } } });
    api.session?.fail(new Error('d'));
    await vi.advanceTimersByTimeAsync(99);
    expect(api.watchCalls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.watchCalls).toEqual(['1', '1', '1', '1', '2']);
    await inf.stop();
  });

  it('restarts a watch that went silent for watchdogMs, from the last resourceVersion', async () => {
    api.lists.push(() => ({ items: [obj('a', 1)], resourceVersion: '1' }));
    const inf = new Informer(api, {
      name: 't',
      watchdogMs: 1000,
      random: () => 0.5,
      backoff: { initialMs: 10 },
    });
    inf.start();
    await tick();
    const first = api.session;
    await vi.advanceTimersByTimeAsync(999);
    expect(first?.signal.aborted).toBe(false);
    first?.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } });
    await vi.advanceTimersByTimeAsync(999);
    expect(first?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(first?.signal.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(10);
    expect(api.watchCalls).toEqual(['1', '7']);
    expect(inf.stats.errors).toBe(1);
    await inf.stop();
  });

  it('stop() ends the loop and the running watch', async () => {
    api.lists.push(() => ({ items: [], resourceVersion: '1' }));
    const inf = new Informer(api, { name: 't' });
    inf.start();
    await tick();
    const s = api.session;
    await inf.stop();
    expect(s?.signal.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(api.watchCalls).toHaveLength(1);
  });
  it('stopped while its list is in flight, it opens no watch and stops once the list returns', async () => {
    const slow = new SlowListApi();
    slow.lists.push(() => ({ items: [obj('a', 1)], resourceVersion: '1' }));
    const inf = new Informer(slow, { name: 'slow' }, handlers);
    inf.start();
    await tick();
    let stopped = false;
    const stopping = inf.stop().then(() => {
      stopped = true;
    });
    slow.release();
    await tick();
    await stopping;
    expect(stopped).toBe(true);
    expect(slow.watchCalls).toEqual([]);
  });
});
