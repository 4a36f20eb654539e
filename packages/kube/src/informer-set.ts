import type { KubeClient } from './client.js';
import type { Clock } from './clock.js';
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
   * object was seen); an update for which `extra.relevant` returns false does not call `onChange`;
   * `extra.transform` reduces each object before it is cached (see {@link InformerOptions.transform});
   * an update for which `extra.unchanged` returns true keeps the cached object and notifies nobody
   * (see {@link InformerOptions.unchanged}).
   */
  add<T extends KubeObject>(
    ref: ResourceRef,
    extra: {
      onAdd?(o: T): void;
      onUpdate?(a: T, b: T): void;
      onDelete?(o: T): void;
      relevant?(a: T, b: T): boolean;
      transform?(o: T): T;
      unchanged?(cached: T, incoming: T): boolean;
    } = {},
  ): Informer<T> {
    const changed = this.options.onChange;
    const inf = new Informer<T>(
      this.client.listWatch<T>(ref),
      {
        name: ref.plural,
        ...(this.options.clock ? { clock: this.options.clock } : {}),
        ...(this.options.logger ? { logger: this.options.logger } : {}),
        ...(this.options.watchdogMs ? { watchdogMs: this.options.watchdogMs } : {}),
        ...(extra.transform ? { transform: extra.transform } : {}),
        ...(extra.unchanged ? { unchanged: extra.unchanged } : {}),
      },
      {
        onAdd: (o) => {
          extra.onAdd?.(o);
          changed();
        },
        onUpdate: (a, b) => {
          extra.onUpdate?.(a, b);
          if (extra.relevant?.(a, b) ?? true) changed();
        },
        onDelete: (o) => {
          extra.onDelete?.(o);
          changed();
        },
        onSynced: changed,
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
