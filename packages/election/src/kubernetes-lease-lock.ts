// Only types come from @kubernetes/client-node here (erased at build time): the core and
// MemoryLock work without it; fromKubeConfig() loads it lazily.
import type { KubeConfig, V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { ElectionError, LockConflictError, LockUnavailableError } from './errors.js';

/** The `@kubernetes/client-node` versions this lock is built and tested against (the peer range). */
export const CLIENT_NODE_RANGE = '^1.4.0 || ^2.0.0';

import type { LeaseRecord, Lock, LockState, Unsubscribe } from './lock.js';
import { type Logger, silentLogger } from './logger.js';

/** The result type of client-node's internal middleware steps (its small Observable stub). */
export interface LeaseMiddlewareStep {
  toPromise(): Promise<unknown>;
}

/**
 * Per-call options accepted by client-node 1.x API methods (the subset we use): a middleware
 * that attaches our abort signal to the request, so a timed-out call is really cancelled.
 */
export interface LeaseRequestOptions {
  middleware?: Array<{
    pre(context: { setSignal(signal: AbortSignal): void }): LeaseMiddlewareStep;
    post(context: unknown): LeaseMiddlewareStep;
  }>;
  middlewareMergeStrategy?: 'append' | 'prepend' | 'replace';
}

/** The three Lease calls we need; `kubeConfig.makeApiClient(CoordinationV1Api)` provides them. */
export interface LeaseApi {
  readNamespacedLease(
    param: { name: string; namespace: string },
    options?: LeaseRequestOptions,
  ): Promise<V1Lease>;
  createNamespacedLease(
    param: { namespace: string; body: V1Lease },
    options?: LeaseRequestOptions,
  ): Promise<V1Lease>;
  replaceNamespacedLease(
    param: { name: string; namespace: string; body: V1Lease },
    options?: LeaseRequestOptions,
  ): Promise<V1Lease>;
}

/** client-node's `Watch` (the method we use). */
export interface LeaseWatch {
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

/** Options of {@link KubernetesLeaseLock}. */
export interface KubernetesLeaseLockOptions {
  /** Namespace of the Lease. */
  readonly namespace: string;
  /** Name of the Lease (created when missing). */
  readonly name: string;
  /** `kubeConfig.makeApiClient(CoordinationV1Api)`. */
  readonly api: LeaseApi;
  /** `new Watch(kubeConfig)`; without it candidates rely on their timers only. */
  readonly watch?: LeaseWatch;
  /** Labels put on the Lease when this lock creates it. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Clock for watch reconnect backoff (default {@link systemClock}). */
  readonly clock?: Clock;
  /** Logger for watch problems (default silent). */
  readonly logger?: Logger;
  /** Watch reconnect backoff: first delay and cap in ms (default 250 and 10 000). */
  readonly watchBackoffMs?: { readonly initial: number; readonly max: number };
}

/**
 * A `coordination.k8s.io/v1` Lease as a {@link Lock}: reads with GET, creates when missing,
 * writes with PUT carrying `metadata.resourceVersion` (the API server's compare-and-swap: 409
 * when it moved), and watches the Lease (`fieldSelector=metadata.name=<name>`) to hear of
 * releases at once. Times are written as MicroTime strings (six fractional digits); the lease
 * duration is stored in whole seconds, rounded up.
 *
 * RBAC: `get`, `create`, `update`, `list`, `watch` on `leases` in the namespace.
 *
 * @example
 * ```ts
 * import { KubeConfig } from '@kubernetes/client-node';
 * const kc = new KubeConfig();
 * kc.loadFromDefault();
 * const lock = await KubernetesLeaseLock.fromKubeConfig(kc, { namespace: 'kube-system', name: 'egw-controller' });
 * ```
 */
export class KubernetesLeaseLock implements Lock {
  /** Namespace of the Lease. */
  readonly namespace: string;
  /** Name of the Lease. */
  readonly name: string;
  readonly #api: LeaseApi;
  readonly #watch: LeaseWatch | undefined;
  readonly #labels: Readonly<Record<string, string>> | undefined;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #backoff: { readonly initial: number; readonly max: number };
  // The last Lease object we saw, so a replace keeps its metadata (labels, annotations, owner).
  #last: V1Lease | undefined;

  constructor(options: KubernetesLeaseLockOptions) {
    this.namespace = options.namespace;
    this.name = options.name;
    this.#api = options.api;
    this.#watch = options.watch;
    this.#labels = options.labels;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silentLogger;
    this.#backoff = options.watchBackoffMs ?? { initial: 250, max: 10_000 };
  }

  /**
   * Builds the lock from a `KubeConfig`, loading `@kubernetes/client-node` (an optional peer
   * dependency) only now.
   */
  static async fromKubeConfig(
    kubeConfig: KubeConfig,
    options: Omit<KubernetesLeaseLockOptions, 'api' | 'watch'>,
  ): Promise<KubernetesLeaseLock> {
    let k8s: typeof import('@kubernetes/client-node');
    try {
      k8s = await import('@kubernetes/client-node');
    } catch (err) {
      throw new ElectionError(
        'ERR_ELECTION_PEER_MISSING',
        `KubernetesLeaseLock.fromKubeConfig needs the optional peer dependency @kubernetes/client-node (${CLIENT_NODE_RANGE}; 2.x needs Node 22 or newer): npm install @kubernetes/client-node (or pass api and watch to new KubernetesLeaseLock)`,
        { cause: err },
      );
    }
    return new KubernetesLeaseLock({
      ...options,
      api: kubeConfig.makeApiClient(k8s.CoordinationV1Api),
      watch: new k8s.Watch(kubeConfig),
    });
  }

  describe(): string {
    return `lease ${this.namespace}/${this.name}`;
  }

  async get(signal: AbortSignal): Promise<LockState | undefined> {
    try {
      const lease = await this.#api.readNamespacedLease(
        { name: this.name, namespace: this.namespace },
        withSignal(signal),
      );
      return this.#remember(lease);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.#mapError('get', err);
    }
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<LockState> {
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(this.#labels !== undefined ? { labels: { ...this.#labels } } : {}),
      },
      spec: toSpec(record, undefined),
    };
    try {
      return this.#remember(
        await this.#api.createNamespacedLease({ namespace: this.namespace, body }, withSignal(signal)),
      );
    } catch (err) {
      throw this.#mapError('create', err);
    }
  }

  async update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<LockState> {
    const base = this.#last?.metadata?.resourceVersion === version ? this.#last : undefined;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...(this.#labels !== undefined ? { labels: { ...this.#labels } } : {}),
        ...(base?.metadata ?? {}),
        name: this.name,
        namespace: this.namespace,
        resourceVersion: version,
      },
      spec: toSpec(record, base?.spec),
    };
    try {
      return this.#remember(
        await this.#api.replaceNamespacedLease(
          { name: this.name, namespace: this.namespace, body },
          withSignal(signal),
        ),
      );
    } catch (err) {
      throw this.#mapError('update', err);
    }
  }

  watch(listener: (state: LockState | undefined) => void): Unsubscribe {
    const watcher = this.#watch;
    if (watcher === undefined) return () => {};
    let closed = false;
    let controller: AbortController | undefined;
    let timer: TimerHandle | undefined;
    let delay = this.#backoff.initial;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
    const retry = (err: unknown): void => {
      if (closed) return;
      if (err !== null && err !== undefined) {
        this.#log.warn({ lock: this.describe(), err: String(err), retryMs: delay }, 'lease watch failed');
      }
      timer = this.#clock.setTimeout(open, delay);
      delay = Math.min(delay * 2, this.#backoff.max);
    };
    const onEvent = (phase: string, obj: unknown): void => {
      if (closed) return;
      if (phase === 'ADDED' || phase === 'MODIFIED') {
        delay = this.#backoff.initial;
        const lease = obj as V1Lease;
        if (lease.metadata?.name !== this.name) return;
        listener(this.#remember(lease));
      } else if (phase === 'DELETED') {
        delay = this.#backoff.initial;
        this.#last = undefined;
        listener(undefined);
      } else if (phase === 'ERROR') {
        this.#log.debug({ lock: this.describe(), status: obj }, 'lease watch error event');
      }
    };
    const open = (): void => {
      timer = undefined;
      if (closed) return;
      // No resourceVersion: the server first replays the current Lease as ADDED, so every
      // (re)connect starts from the present and nothing missed in between matters.
      watcher
        .watch(path, { fieldSelector: `metadata.name=${this.name}`, timeoutSeconds: 300 }, onEvent, (err) =>
          retry(err),
        )
        .then(
          (c) => {
            controller = c;
            if (closed) c.abort();
          },
          (err: unknown) => retry(err),
        );
    };
    open();
    return () => {
      closed = true;
      controller?.abort();
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    };
  }

  #remember(lease: V1Lease): LockState {
    this.#last = lease;
    return fromLease(lease);
  }

  #mapError(op: string, err: unknown): Error {
    const status = statusOf(err);
    const message = `${op} ${this.describe()}: ${statusMessage(err)}`;
    if (status === 409 || (op === 'update' && status === 404))
      return new LockConflictError(message, { cause: err });
    return new LockUnavailableError(message, status, { cause: err });
  }
}

function withSignal(signal: AbortSignal): LeaseRequestOptions {
  return {
    middleware: [
      {
        // client-node 1.4 chains middleware through its Observable stub: return { toPromise }.
        pre: (context) => {
          context.setSignal(signal);
          return { toPromise: () => Promise.resolve(context) };
        },
        post: (context) => ({ toPromise: () => Promise.resolve(context) }),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

// ApiException.body is the raw JSON Status; its message is the useful part.
function statusMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown; reason?: unknown };
      if (typeof parsed.message === 'string') return `${String(parsed.reason ?? 'Error')}: ${parsed.message}`;
    } catch {
      // Not JSON (proxy error page): fall through to the exception's own message.
    }
  }
  return err instanceof Error ? err.message : String(err);
}

function timeString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  return '';
}

/** Maps a Lease to the lock's record (`renewTime` arrives as a string at run time). */
export function fromLease(lease: V1Lease): LockState {
  const spec = lease.spec ?? {};
  return {
    version: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationMs: (spec.leaseDurationSeconds ?? 0) * 1000,
      acquireTime: timeString(spec.acquireTime),
      renewTime: timeString(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}

function toSpec(record: LeaseRecord, base: V1Lease['spec']): NonNullable<V1Lease['spec']> {
  // MicroTime strings pass through client-node's serializer untouched; a Date would be
  // written with three decimals, which a real API server rejects.
  const micro = (value: string): V1MicroTime => value as unknown as V1MicroTime;
  return {
    ...(base ?? {}),
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: Math.max(1, Math.ceil(record.leaseDurationMs / 1000)),
    leaseTransitions: record.leaseTransitions,
    ...(record.acquireTime !== '' ? { acquireTime: micro(record.acquireTime) } : {}),
    ...(record.renewTime !== '' ? { renewTime: micro(record.renewTime) } : {}),
  };
}
