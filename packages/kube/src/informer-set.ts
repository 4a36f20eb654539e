import type { KubeClient, WatchOptions } from './client.js';
import type { Clock } from './clock.js';
import type { KubeApiError } from './errors.js';
import { Informer, type KubeObject } from './informer.js';
import type { Logger } from './logger.js';
import type { ResourceRef } from './resources.js';

/** Settings shared by the informers of a set. */
export interface InformerSetOptions {
  clock?: Clock | undefined;
  logger?: Logger | undefined;
  watchdogMs?: number | undefined;
  /** Called after any change in any of the caches (and after each sync). */
  onChange: () => void;
}

/** Per-informer options of {@link InformerSet.add}. */
export interface InformerExtras<T> {
  /** Runs on every add, before `onChange`. */
  onAdd?(obj: T): void;
  /** Runs on every cached update (whether or not it notifies), before `onChange`. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** Runs on every delete, before `onChange`. */
  onDelete?(obj: T): void;
  /** True when this update should call `onChange` (default: always). */
  notifyWhen?(oldObj: T, newObj: T): boolean;
  /** Reduces each object before it is cached (see {@link InformerOptions.transform}). */
  transform?(obj: T): T;
  /** True when this update replaces the cached object (default: always; see {@link InformerOptions.cacheWhen}). */
  cacheWhen?(cached: T, incoming: T): boolean;
  /** A failed list or watch (see {@link InformerOptions.onError}); the informer retries by itself. */
  onError?(err: KubeApiError, action: 'relist' | 'retry'): void;
  /** After every complete list (the first sync and each relist), before `onChange`. */
  onSynced?(): void;
  /**
   * Label and field selectors of the list and watch (e.g. `spec.nodeName=<node>` for pods), and
   * for a namespaced kind the one namespace to list and watch (default: all).
   */
  selectors?: Pick<WatchOptions, 'labelSelector' | 'fieldSelector' | 'namespace'>;
}

/**
 * The informers an app keeps, started, synced and stopped together; every change of any cache
 * calls one `onChange` (the app coalesces it into one reconcile).
 */
export class InformerSet {
  private readonly all: Informer<KubeObject>[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerSetOptions,
  ) {}

  /**
   * Adds an informer for `ref`. `extra` handlers run before `onChange` (e.g. to record when an
   * object was seen); `extra.notifyWhen(old, new)` decides whether an update calls `onChange`
   * (default: every update does); `extra.transform` reduces each object before it is cached (see
   * {@link InformerOptions.transform}); `extra.cacheWhen(cached, incoming)` decides whether an
   * update replaces the cached object at all, and when it does not, nobody is told (see
   * {@link InformerOptions.cacheWhen}).
   *
   * @example
   * ```ts
   * set.add<Pod>(PODS, { transform: podView, notifyWhen: podViewChanged });
   * ```
   */
  add<T extends KubeObject>(ref: ResourceRef, extra: InformerExtras<T> = {}): Informer<T> {
    const changed = this.options.onChange;
    const inf = new Informer<T>(
      this.client.listWatch<T>(ref, extra.selectors ?? {}),
      {
        name: ref.plural,
        ...(this.options.clock ? { clock: this.options.clock } : {}),
        ...(this.options.logger ? { logger: this.options.logger } : {}),
        ...(this.options.watchdogMs ? { watchdogMs: this.options.watchdogMs } : {}),
        ...(extra.transform ? { transform: extra.transform } : {}),
        ...(extra.cacheWhen ? { cacheWhen: extra.cacheWhen } : {}),
        ...(extra.onError ? { onError: extra.onError } : {}),
      },
      {
        onAdd: (o) => {
          extra.onAdd?.(o);
          changed();
        },
        onUpdate: (a, b) => {
          extra.onUpdate?.(a, b);
          if (extra.notifyWhen?.(a, b) ?? true) changed();
        },
        onDelete: (o) => {
          extra.onDelete?.(o);
          changed();
        },
        onSynced: () => {
          extra.onSynced?.();
          changed();
        },
      },
    );
    this.all.push(inf as unknown as Informer<KubeObject>);
    return inf;
  }

  start(): void {
    for (const i of this.all) i.start();
  }

  /** True when every informer has listed once. */
  synced(): boolean {
    return this.all.every((i) => i.hasSynced());
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.all.map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }
}
