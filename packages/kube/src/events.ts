import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type Clock, systemClock } from './clock.js';
import { toKubeApiError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';

/** The object an event is about. */
export interface InvolvedObject {
  kind: string;
  name: string;
  namespace?: string | undefined;
  uid?: string | undefined;
  apiVersion?: string | undefined;
}

/** One event to record. */
export interface EventInput {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase reason, e.g. `EIPMoved`. */
  reason: string;
  message: string;
  involvedObject: InvolvedObject;
}

/** Where events go; {@link KubeEventSink} writes core/v1 Events. */
export interface EventSink {
  create(namespace: string, event: object): Promise<{ name: string }>;
  patch(namespace: string, name: string, patch: object): Promise<void>;
}

/** Writes core/v1 Events through client-node. */
export class KubeEventSink implements EventSink {
  private readonly api: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CoreV1Api);
  }
  async create(namespace: string, event: object): Promise<{ name: string }> {
    try {
      const e = await this.api.createNamespacedEvent({ namespace, body: event as never });
      return { name: e.metadata?.name ?? '' };
    } catch (err) {
      throw toKubeApiError(err);
    }
  }
  async patch(namespace: string, name: string, patch: object): Promise<void> {
    try {
      await this.api.patchNamespacedEvent(
        { namespace, name, body: patch },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw toKubeApiError(err);
    }
  }
}

/** Recorder settings. */
export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent`, e.g. `egressgateway-controller`. */
  component: string;
  /** `source.host` / `reportingInstance`, e.g. the pod or node name. */
  instance: string;
  clock?: Clock;
  logger?: Logger;
  /** Repeats of the same event within this window bump `count` instead of creating one (default 10 min). */
  aggregateWindowMs?: number;
}

/**
 * Records Kubernetes Events without blocking the caller: writes are queued and sent one at a
 * time; the same event (object, type, reason, message) repeated within the window increments
 * `count` on the existing Event, as kubectl describe shows it. Failures are logged, never thrown.
 */
export class EventRecorder {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly recent = new Map<string, { namespace: string; name: string; count: number; at: number }>();
  private queue: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(
    private readonly sink: EventSink,
    private readonly options: EventRecorderOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: 'events' });
  }

  /** Queues an event; returns at once. */
  record(e: EventInput): void {
    const at = this.clock.now();
    this.queue = this.queue.then(() => this.write(e, at));
  }

  /** Resolves when every queued event has been written (or failed). */
  flush(): Promise<void> {
    return this.queue;
  }

  private async write(e: EventInput, now: number): Promise<void> {
    const namespace = e.involvedObject.namespace || 'default';
    const key = JSON.stringify([
      e.involvedObject.kind,
      namespace,
      e.involvedObject.name,
      e.type,
      e.reason,
      e.message,
    ]);
    const window = this.options.aggregateWindowMs ?? 600_000;
    const ts = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    try {
      const prior = this.recent.get(key);
      if (prior && now - prior.at < window) {
        prior.count++;
        prior.at = now;
        await this.sink.patch(prior.namespace, prior.name, { count: prior.count, lastTimestamp: ts });
        return;
      }
      const name = `${e.involvedObject.name}.${now.toString(16)}${(this.seq++ % 4096).toString(16).padStart(3, '0')}`;
      const created = await this.sink.create(namespace, {
        metadata: { name, namespace },
        involvedObject: { ...e.involvedObject, namespace: e.involvedObject.namespace || undefined },
        type: e.type,
        reason: e.reason,
        message: e.message,
        count: 1,
        firstTimestamp: ts,
        lastTimestamp: ts,
        source: { component: this.options.component, host: this.options.instance },
        reportingComponent: this.options.component,
        reportingInstance: this.options.instance,
      });
      this.recent.set(key, { namespace, name: created.name || name, count: 1, at: now });
      if (this.recent.size > 4096) {
        for (const [k, v] of this.recent) if (now - v.at >= window) this.recent.delete(k);
      }
    } catch (err) {
      this.log.warn(
        { err: toKubeApiError(err).message, reason: e.reason, object: e.involvedObject.name },
        'event not recorded',
      );
    }
  }
}
