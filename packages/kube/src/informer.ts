import { type BackoffOptions, backoffDelayMs } from './backoff.js';
import { type Clock, sleep, systemClock } from './clock.js';
import { isGone, KubeApiError, toKubeApiError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

/** The metadata an informer needs from an object. */
export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string } | undefined;
}

/** One list: the items and the resourceVersion to watch from. */
export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

/** One watch event as the API streams it. */
export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;
  object: T | { code?: number; reason?: string; message?: string; metadata?: { resourceVersion?: string } };
}

/**
 * How an informer reads a collection. `watch` resolves when the server ends the stream normally
 * and rejects on errors (a 410 rejection or an ERROR event with code 410 means "relist").
 */
export interface ListWatch<T> {
  list(signal: AbortSignal): Promise<ListResult<T>>;
  watch(resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}

/** Callbacks of an informer; each runs synchronously after the cache changed. */
export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T): void;
  /** After the first list is in the cache, and after every relist. */
  onSynced?(): void;
}

/** Informer settings. */
export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** Name in logs and metrics, e.g. `egresstunnels`. */
  name: string;
  clock?: Clock;
  logger?: Logger;
  /** Restart the watch when nothing (not even a bookmark) arrived for this long (default 60 s). */
  watchdogMs?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Called on every recoverable failure, with what is done about it. */
  onError?(err: KubeApiError, action: 'relist' | 'retry'): void;
  /**
   * Keep `metadata.managedFields` in the cached objects (default false: dropped as they arrive).
   * Server-side-apply bookkeeping is often the larger part of an object and no reconcile reads it;
   * a cache of thousands of objects that are replaced on every heartbeat should not carry it.
   */
  keepManagedFields?: boolean;
  /**
   * Reduces each object to what the app reads before it is cached and handed to handlers (like
   * client-go's `SetTransform`): an agent that sees every pod of the cluster needs their labels and
   * addresses, not their container specs. Must keep `metadata.name`, `namespace` and
   * `resourceVersion`; receives the informer's own parsed copy.
   */
  transform?(obj: T): T;
  /**
   * Decides whether an update replaces the cached object (both arguments as cached, after
   * `transform`): return true when it changed something the app reads. On false the informer keeps
   * the object it has, the very same one, and calls no handler. For objects the API rewrites often
   * for fields the app ignores (Node status every few minutes from every kubelet), so that
   * consumers comparing by identity, like the failover engine, see no change. The kept object's
   * `resourceVersion` is then older than the server's; watches resume from the stream's own
   * position, not from cached objects. Default: every update is cached.
   *
   * @example
   * ```ts
   * { transform: nodeView, cacheWhen: nodeViewChanged }
   * ```
   */
  cacheWhen?(cached: T, incoming: T): boolean;
}

/** Cache key of an object: `namespace/name` or `name`. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ''}` : (obj.metadata?.name ?? '');
}

/** Deletes `metadata.managedFields` in place (the object is the informer's own parsed copy). */
function dropManagedFields(obj: KubeObject): void {
  const metadata = obj.metadata as { managedFields?: unknown } | undefined;
  if (metadata && 'managedFields' in metadata) delete metadata.managedFields;
}

class WatchdogExpired extends Error {
  constructor(ms: number) {
    super(`no watch event for ${ms} ms`);
  }
}

/**
 * A list+watch cache that survives every error: relists on 410 Gone, retries any other failure
 * with capped exponential backoff (keeping its cache and resuming from the last resourceVersion),
 * and restarts a watch that went silent (half-open connections) after `watchdogMs`. Ask the
 * server for bookmarks so a quiet collection still shows liveness.
 *
 * @example
 * const inf = new Informer(listWatch(kc, EGRESS_TUNNELS), { name: 'egresstunnels' }, {
 *   onUpdate: (_old, t) => log.info({ name: t.metadata?.name }, 'tunnel changed'),
 * });
 * inf.start();
 * await inf.waitForSync();
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private running: Promise<void> | undefined;
  private resourceVersion = '';
  /** Whether the current watch stream delivered any event. */
  private delivered = false;
  /** Counters for metrics: lists, watch restarts, errors. */
  readonly stats = { lists: 0, watches: 0, errors: 0, events: 0 };

  constructor(
    private readonly lw: ListWatch<T>,
    private readonly options: InformerOptions<T>,
    private readonly handlers: InformerHandlers<T> = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ informer: options.name });
  }

  /** Starts listing and watching; idempotent. */
  start(): void {
    this.running ??= this.run();
  }

  /** Stops the watch and the retry loop; the cache stays readable. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('informer stopped'));
    await this.running;
  }

  /** True once the first list is in the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when the first list is in the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /** Every cached object. */
  list(): T[] {
    return [...this.cache.values()];
  }

  /** One cached object by `name` or `namespace/name`. */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** The resourceVersion the next watch resumes from ('' before the first list). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      this.delivered = false;
      try {
        if (this.resourceVersion === '') {
          await this.relist(signal);
          attempt = 0;
        }
        // Stopped while the list was in flight: a watch opened now would never see the abort.
        if (signal.aborted) break;
        await this.watchOnce(signal);
        if (this.delivered) attempt = 0;
      } catch (err) {
        if (signal.aborted) break;
        // A stream that delivered events before failing was healthy: start the backoff over.
        if (this.delivered) attempt = 0;
        const e =
          err instanceof WatchdogExpired
            ? new KubeApiError(0, 'WatchdogExpired', err.message)
            : toKubeApiError(err);
        this.stats.errors++;
        if (isGone(e)) {
          this.log.info(
            { resourceVersion: this.resourceVersion },
            'watch resource version expired, relisting',
          );
          this.options.onError?.(e, 'relist');
          this.resourceVersion = '';
          continue;
        }
        attempt++;
        const delay = backoffDelayMs(attempt, this.options.backoff, this.options.random);
        this.log.warn(
          { err: e.message, status: e.status, reason: e.reason, attempt, delayMs: delay },
          'list/watch failed, retrying',
        );
        this.options.onError?.(e, 'retry');
        try {
          await sleep(this.clock, delay, signal);
        } catch {
          break;
        }
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    this.stats.lists++;
    const { items, resourceVersion } = await this.lw.list(signal);
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      this.upsert(key, obj);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.handlers.onDelete?.(old);
      }
    }
    this.resourceVersion = resourceVersion;
    this.log.debug({ items: items.length, resourceVersion }, 'listed');
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    this.handlers.onSynced?.();
  }

  private upsert(key: string, parsed: T): void {
    const obj = this.slim(parsed);
    const old = this.cache.get(key);
    if (old !== undefined && this.options.cacheWhen?.(old, obj) === false) return;
    this.cache.set(key, obj);
    if (!old) this.handlers.onAdd?.(obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion)
      this.handlers.onUpdate?.(old, obj);
  }

  /** The object as cached: without managedFields (unless kept), through `transform` if set. */
  private slim(obj: T): T {
    if (!this.options.keepManagedFields) dropManagedFields(obj);
    return this.options.transform ? this.options.transform(obj) : obj;
  }

  /** One watch stream, until the server ends it, it fails, or the watchdog fires. */
  private async watchOnce(outer: AbortSignal): Promise<void> {
    this.stats.watches++;
    const ctl = new AbortController();
    const onOuterAbort = () => ctl.abort(outer.reason);
    outer.addEventListener('abort', onOuterAbort, { once: true });
    const watchdogMs = this.options.watchdogMs ?? 60_000;
    let failure: unknown;
    let timer = this.clock.setTimeout(() => fail(new WatchdogExpired(watchdogMs)), watchdogMs);
    const fail = (err: unknown) => {
      failure ??= err;
      ctl.abort(err);
    };
    try {
      await this.lw.watch(
        this.resourceVersion,
        (e) => {
          if (ctl.signal.aborted) return;
          this.clock.clearTimeout(timer);
          timer = this.clock.setTimeout(() => fail(new WatchdogExpired(watchdogMs)), watchdogMs);
          this.stats.events++;
          this.delivered = true;
          this.onEvent(e, fail);
        },
        ctl.signal,
      );
    } catch (err) {
      if (!ctl.signal.aborted) throw err;
    } finally {
      this.clock.clearTimeout(timer);
      outer.removeEventListener('abort', onOuterAbort);
    }
    if (failure !== undefined && !outer.aborted) throw failure;
  }

  private onEvent(e: WatchEvent<T>, fail: (err: unknown) => void): void {
    if (e.type === 'ERROR') {
      const s = e.object as { code?: number; reason?: string; message?: string };
      fail(new KubeApiError(s.code ?? 500, s.reason ?? 'Unknown', s.message ?? 'watch error event'));
      return;
    }
    const rv = (e.object as KubeObject).metadata?.resourceVersion;
    if (e.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = e.object as T;
    const key = objectKey(obj);
    if (e.type === 'DELETED') {
      const old = this.cache.get(key);
      this.cache.delete(key);
      if (old) this.handlers.onDelete?.(this.slim(obj));
    } else if (e.type === 'ADDED' || e.type === 'MODIFIED') {
      this.upsert(key, obj);
    }
    if (rv) this.resourceVersion = rv;
  }
}
