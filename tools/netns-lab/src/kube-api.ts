/**
 * The few API calls the lab needs, over plain HTTP to the embedded API server (no client library:
 * the lab must keep working while the API server restarts, and it only creates, reads and patches).
 */

/** A Kubernetes object as far as the lab reads it. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** An API error with the HTTP status. */
export class ApiCallError extends Error {
  readonly code = 'EGW_LAB_API';
  constructor(
    readonly status: number,
    readonly path: string,
    body: string,
  ) {
    super(`${path}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

/** Minimal API client bound to a base URL such as `http://127.0.0.1:41234`. */
export class LabApi {
  /**
   * @param token bearer token sent with every request (an API server with token authentication).
   */
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 3000,
    private readonly token?: string,
  ) {}

  private async call(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const headers: Record<string, string> =
      body === undefined ? {} : { 'content-type': contentType ?? 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new ApiCallError(res.status, path, text);
    return text ? JSON.parse(text) : undefined;
  }

  get<T = KObject>(path: string): Promise<T> {
    return this.call('GET', path) as Promise<T>;
  }

  create<T = KObject>(collectionPath: string, obj: unknown): Promise<T> {
    return this.call('POST', collectionPath, obj) as Promise<T>;
  }

  /** JSON merge patch (on `…/status` for the status subresource). */
  mergePatch<T = KObject>(path: string, patch: unknown): Promise<T> {
    return this.call('PATCH', path, patch, 'application/merge-patch+json') as Promise<T>;
  }

  /** Deletes the object at `path`. */
  delete<T = KObject>(path: string): Promise<T> {
    return this.call('DELETE', path) as Promise<T>;
  }

  /** True when `/readyz` answers 200. */
  async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(500) });
      await res.text();
      return res.ok;
    } catch {
      return false;
    }
  }
}

/** API paths of the objects the lab uses. */
export const paths = {
  crds: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  nodes: '/api/v1/nodes',
  node: (n: string) => `/api/v1/nodes/${n}`,
  pods: (ns: string) => `/api/v1/namespaces/${ns}/pods`,
  podStatus: (ns: string, n: string) => `/api/v1/namespaces/${ns}/pods/${n}/status`,
  gateways: '/apis/egressgateway.spidernet.io/v1beta1/egressgateways',
  gateway: (n: string) => `/apis/egressgateway.spidernet.io/v1beta1/egressgateways/${n}`,
  tunnels: '/apis/egressgateway.spidernet.io/v1beta1/egresstunnels',
  tunnel: (n: string) => `/apis/egressgateway.spidernet.io/v1beta1/egresstunnels/${n}`,
  policies: (ns: string) => `/apis/egressgateway.spidernet.io/v1beta1/namespaces/${ns}/egresspolicies`,
  policy: (ns: string, n: string) =>
    `/apis/egressgateway.spidernet.io/v1beta1/namespaces/${ns}/egresspolicies/${n}`,
  lease: (ns: string, n: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${n}`,
  clusterInfo: '/apis/egressgateway.spidernet.io/v1beta1/egressclusterinfos/default',
  validatingWebhooks: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
  mutatingWebhooks: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
} as const;

/** Collection path of a webhook configuration kind. */
export const webhookPath = (kind: string): string =>
  kind === 'MutatingWebhookConfiguration' ? paths.mutatingWebhooks : paths.validatingWebhooks;
