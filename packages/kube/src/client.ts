import {
  type Configuration,
  CustomObjectsApi,
  createConfiguration,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { toKubeApiError } from './errors.js';
import type { KubeObject, ListResult, ListWatch, WatchEvent } from './informer.js';
import { KeepAliveAgents } from './keep-alive.js';
import { apiVersionOf, type ResourceRef, resourcePath } from './resources.js';

/** Filters of a list or watch. */
export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Watch settings: the server ends each stream after about `timeoutSeconds` (default 300, ±10 %). */
export interface WatchOptions extends ListOptions {
  timeoutSeconds?: number;
}

const PAGE = 500;

/** KubernetesObjectApi on a given configuration, with the kubeconfig's default namespace. */
class ObjectApi extends KubernetesObjectApi {
  static create(kc: KubeConfig, configuration: Configuration): ObjectApi {
    const api = new ObjectApi(configuration);
    api.setDefaultNamespace(kc);
    return api;
  }
}

/**
 * The few API operations the apps need, on any resource (built-in or custom), through
 * `@kubernetes/client-node`. Every failure is a {@link KubeApiError}.
 */
export class KubeClient {
  private readonly objects: KubernetesObjectApi;
  private readonly custom: CustomObjectsApi;

  constructor(readonly kubeConfig: KubeConfig) {
    // What KubeConfig.makeApiClient builds, plus one keep-alive agent for all requests.
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new TypeError('kubeconfig has no current cluster');
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      promiseMiddleware: [new KeepAliveAgents()],
    });
    this.objects = ObjectApi.create(kubeConfig, configuration);
    this.custom = new CustomObjectsApi(configuration);
  }

  /** Lists a collection, following `continue` pages; the resourceVersion is the snapshot's. */
  async list<T extends KubeObject>(ref: ResourceRef, options: ListOptions = {}): Promise<ListResult<T>> {
    const items: T[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const page = await this.objects.list(
          apiVersionOf(ref),
          ref.kind,
          ref.namespaced ? options.namespace : undefined,
          undefined,
          undefined,
          undefined,
          options.fieldSelector,
          options.labelSelector,
          PAGE,
          token,
        );
        for (const item of page.items) items.push(item as unknown as T);
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        token = page.metadata?._continue || undefined;
      } while (token);
    } catch (err) {
      throw toKubeApiError(err);
    }
    // Items of a typed list come without kind/apiVersion; put them back for uniform handling.
    for (const item of items as Array<KubeObject & { kind?: string; apiVersion?: string }>) {
      item.kind ??= ref.kind;
      item.apiVersion ??= apiVersionOf(ref);
    }
    return { items, resourceVersion };
  }

  /** Reads one object. */
  async get<T extends KubeObject>(ref: ResourceRef, name: string, namespace?: string): Promise<T> {
    try {
      const header = { apiVersion: apiVersionOf(ref), kind: ref.kind, metadata: { name, namespace } };
      return (await this.objects.read(header as never)) as unknown as T;
    } catch (err) {
      throw toKubeApiError(err);
    }
  }

  /** Creates an object (kind and apiVersion are filled from `ref`). */
  async create<T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T> {
    try {
      const body = { ...obj, apiVersion: apiVersionOf(ref), kind: ref.kind } as KubernetesObject;
      return (await this.objects.create(body)) as unknown as T;
    } catch (err) {
      throw toKubeApiError(err);
    }
  }

  /** Deletes an object. */
  async delete(ref: ResourceRef, name: string, namespace?: string): Promise<void> {
    try {
      const metadata = namespace ? { name, namespace } : { name };
      await this.objects.delete({ apiVersion: apiVersionOf(ref), kind: ref.kind, metadata });
    } catch (err) {
      throw toKubeApiError(err);
    }
  }

  /** JSON merge patch of an object's main resource (metadata, spec), e.g. to set an annotation. */
  async patchMerge<T extends KubeObject>(
    ref: ResourceRef,
    name: string,
    namespace: string | undefined,
    patch: object,
  ): Promise<T> {
    try {
      const body = {
        ...patch,
        apiVersion: apiVersionOf(ref),
        kind: ref.kind,
        metadata: {
          ...((patch as { metadata?: object }).metadata ?? {}),
          name,
          ...(namespace ? { namespace } : {}),
        },
      };
      return (await this.objects.patch(
        body as KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      )) as unknown as T;
    } catch (err) {
      throw toKubeApiError(err);
    }
  }

  /**
   * JSON merge patch of a custom resource's `status` subresource. Put
   * `metadata.resourceVersion` in the patch to make it conditional (409 when stale).
   */
  async patchStatus<T extends KubeObject>(
    ref: ResourceRef,
    name: string,
    namespace: string | undefined,
    patch: object,
  ): Promise<T> {
    if (ref.group === '')
      throw new TypeError(`patchStatus supports custom resources only, not ${ref.plural}`);
    const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const base = { group: ref.group, version: ref.version, plural: ref.plural, name, body: patch };
    try {
      const res =
        ref.namespaced && namespace
          ? await this.custom.patchNamespacedCustomObjectStatus({ ...base, namespace }, opts)
          : await this.custom.patchClusterCustomObjectStatus(base, opts);
      return res as T;
    } catch (err) {
      throw toKubeApiError(err);
    }
  }

  /** A {@link ListWatch} of a collection for an {@link Informer}, with bookmarks and server timeouts. */
  listWatch<T extends KubeObject>(ref: ResourceRef, options: WatchOptions = {}): ListWatch<T> {
    const path = resourcePath(ref, options.namespace);
    const timeout = options.timeoutSeconds ?? 300;
    return {
      list: () => this.list<T>(ref, options),
      watch: (resourceVersion, onEvent, signal) =>
        new Promise<void>((resolve, reject) => {
          let controller: AbortController | undefined;
          // client-node hands out its abort handle only once the response started: stop waiting
          // at once on abort, and abort the request as soon as the handle arrives.
          signal.addEventListener(
            'abort',
            () => {
              controller?.abort();
              resolve();
            },
            { once: true },
          );
          new Watch(this.kubeConfig)
            .watch(
              path,
              {
                resourceVersion,
                allowWatchBookmarks: true,
                timeoutSeconds: Math.round(timeout * (0.9 + Math.random() * 0.2)),
                labelSelector: options.labelSelector,
                fieldSelector: options.fieldSelector,
              },
              (type: string, object: unknown) => onEvent({ type, object } as WatchEvent<T>),
              (err: unknown) => (err && !signal.aborted ? reject(toKubeApiError(err)) : resolve()),
            )
            .then((c) => {
              controller = c;
              if (signal.aborted) c.abort();
            }, reject);
        }),
    };
  }
}
