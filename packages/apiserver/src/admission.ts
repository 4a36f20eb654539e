/**
 * Admission webhooks, called as kube-apiserver calls them: the stored
 * `admissionregistration.k8s.io/v1` MutatingWebhookConfigurations first (in name order, each
 * webhook in order, each seeing the previous patches), then the ValidatingWebhookConfigurations
 * (in parallel), then the write. Configurations are read from storage on every request, so a new
 * `caBundle` or failure policy applies to the next request.
 */
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { UserInfo } from './audit.js';
import { ApiError, type StatusCause } from './errors.js';
import { jsonPatch } from './patch.js';
import type { ResourceInfo } from './resources.js';
import type { JsonValue, KubeObject } from './types.js';

/** The operations a webhook rule names. */
export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

/** Options of the admission layer. */
export interface AdmissionOptions {
  /**
   * Where a `clientConfig.service` is reached: `<namespace>/<name>:<port>` to `host:port` (there
   * are no Services or cluster DNS here). The TLS server name is still `<name>.<namespace>.svc`,
   * as kube-apiserver sends it.
   */
  serviceAddresses?: Readonly<Record<string, string>>;
  logger?: Logger;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

/** One webhook of a configuration, as stored. */
interface Webhook {
  name: string;
  clientConfig?: {
    url?: string;
    service?: { namespace?: string; name?: string; path?: string; port?: number };
    caBundle?: string;
  };
  rules?: Rule[];
  failurePolicy?: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
}

/** What one admission request is about. */
export interface AdmissionAttributes {
  operation: AdmissionOperation;
  info: ResourceInfo;
  subresource?: string;
  namespace: string;
  name: string;
  /** The object to write (absent on delete). */
  object?: KubeObject;
  /** The stored object (update and delete). */
  oldObject?: KubeObject;
  dryRun: boolean;
  user: UserInfo;
  /** Labels of the object's namespace (for `namespaceSelector`), when it is namespaced. */
  namespaceLabels?: Record<string, string>;
}

function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (sel === undefined) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value as string)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value as string)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

const listHas = (list: string[] | undefined, v: string) => (list ?? []).some((x) => x === '*' || x === v);

function resourceMatches(patterns: string[] | undefined, resource: string, sub: string | undefined): boolean {
  return (patterns ?? []).some((p) => {
    const [res, s] = p.split('/', 2) as [string, string | undefined];
    if (res !== '*' && res !== resource) return false;
    return sub === undefined ? s === undefined : s === '*' || s === sub;
  });
}

/** True when `rule` selects the request (operation, group, version, resource/subresource, scope). */
export function ruleMatches(rule: Rule, a: AdmissionAttributes): boolean {
  const scope = rule.scope ?? '*';
  if (scope === 'Cluster' && a.info.namespaced) return false;
  if (scope === 'Namespaced' && !a.info.namespaced) return false;
  return (
    listHas(rule.operations, a.operation) &&
    listHas(rule.apiGroups, a.info.group) &&
    listHas(rule.apiVersions, a.info.version) &&
    resourceMatches(rule.resources, a.info.resource, a.subresource)
  );
}

function webhookMatches(w: Webhook, a: AdmissionAttributes): boolean {
  if (!(w.rules ?? []).some((r) => ruleMatches(r, a))) return false;
  // namespaceSelector: the namespace's labels; a Namespace is judged by its own; other
  // cluster-scoped objects are not filtered by it.
  const nsLabels =
    a.info.resource === 'namespaces' && a.info.group === ''
      ? ((a.object ?? a.oldObject)?.metadata.labels ?? {})
      : a.info.namespaced
        ? (a.namespaceLabels ?? {})
        : undefined;
  if (nsLabels !== undefined && !selectorMatches(w.namespaceSelector, nsLabels)) return false;
  const candidates = [a.object, a.oldObject].filter((o): o is KubeObject => o !== undefined);
  return candidates.some((o) => selectorMatches(w.objectSelector, o.metadata.labels ?? {}));
}

/** The webhooks of every stored configuration of a kind that select the request, in call order. */
export function matchingWebhooks(configurations: readonly KubeObject[], a: AdmissionAttributes): Webhook[] {
  const sorted = [...configurations].sort((x, y) =>
    (x.metadata.name ?? '').localeCompare(y.metadata.name ?? ''),
  );
  return sorted.flatMap((c) =>
    ((c as unknown as { webhooks?: Webhook[] }).webhooks ?? []).filter((w) => webhookMatches(w, a)),
  );
}

const OPTIONS_KIND: Record<AdmissionOperation, string> = {
  CREATE: 'CreateOptions',
  UPDATE: 'UpdateOptions',
  DELETE: 'DeleteOptions',
};

function reviewRequest(a: AdmissionAttributes, uid: string) {
  const kind = { group: a.info.group, version: a.info.version, kind: a.info.kind };
  const resource = { group: a.info.group, version: a.info.version, resource: a.info.resource };
  return {
    uid,
    kind,
    resource,
    ...(a.subresource ? { subResource: a.subresource } : {}),
    requestKind: kind,
    requestResource: resource,
    ...(a.subresource ? { requestSubResource: a.subresource } : {}),
    name: a.name,
    ...(a.namespace ? { namespace: a.namespace } : {}),
    operation: a.operation,
    userInfo: { username: a.user.user, groups: a.user.groups },
    object: a.object ?? null,
    oldObject: a.oldObject ?? null,
    dryRun: a.dryRun,
    options: { apiVersion: 'meta.k8s.io/v1', kind: OPTIONS_KIND[a.operation] },
  };
}

interface ReviewResponse {
  uid?: string;
  allowed?: boolean;
  status?: { code?: number; reason?: string; message?: string; details?: { causes?: StatusCause[] } };
  patchType?: string;
  patch?: string;
  warnings?: string[];
}

/** Why a call failed (answered per the webhook's failure policy). */
class CallFailure extends Error {}

/** Where a webhook is called: URL and TLS server name. */
function endpoint(w: Webhook, services: Readonly<Record<string, string>>): { url: URL; servername: string } {
  const cc = w.clientConfig ?? {};
  if (cc.url !== undefined) {
    const url = new URL(cc.url);
    if (url.protocol !== 'https:') throw new CallFailure(`webhook URL ${cc.url} is not https`);
    return { url, servername: url.hostname };
  }
  const s = cc.service;
  if (s?.name === undefined || s.namespace === undefined)
    throw new CallFailure('clientConfig has neither url nor service');
  const port = s.port ?? 443;
  const key = `${s.namespace}/${s.name}:${port}`;
  const address = services[key];
  if (address === undefined)
    throw new CallFailure(
      `service "${key}" has no address here: start the API server with --webhook-service-address ${key}=<host:port>`,
    );
  return { url: new URL(`https://${address}${s.path ?? ''}`), servername: `${s.name}.${s.namespace}.svc` };
}

function post(w: Webhook, services: Readonly<Record<string, string>>, body: string): Promise<ReviewResponse> {
  const timeoutSeconds = Math.min(30, Math.max(1, w.timeoutSeconds ?? 10));
  const { url, servername } = endpoint(w, services);
  const ca = w.clientConfig?.caBundle
    ? Buffer.from(w.clientConfig.caBundle, 'base64').toString('utf8')
    : undefined;
  const shown = `Post "https://${servername}${url.pathname}?timeout=${timeoutSeconds}s"`;
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'POST',
        ...(ca ? { ca } : {}),
        servername,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299)
            return reject(
              new CallFailure(`${shown}: the server answered ${res.statusCode}: ${text.slice(0, 200)}`),
            );
          try {
            const doc = JSON.parse(text) as { response?: ReviewResponse };
            if (!doc.response) throw new Error('no response in the AdmissionReview');
            resolve(doc.response);
          } catch (e) {
            reject(new CallFailure(`${shown}: bad AdmissionReview answer: ${(e as Error).message}`));
          }
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new CallFailure(`${shown}: context deadline exceeded`));
    }, timeoutSeconds * 1000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(new CallFailure(`${shown}: ${e.message}`));
    });
    req.end(body);
  });
}

/**
 * Calls the admission webhooks of one request: mutating first, then validating. Returns the
 * object after the mutating webhooks' patches; throws the {@link ApiError} the client gets on a
 * denial or on a failed call under failure policy `Fail`.
 */
export class Admission {
  private readonly services: Readonly<Record<string, string>>;
  private readonly log: Logger | undefined;

  constructor(
    private readonly configurations: (kind: 'mutating' | 'validating') => readonly KubeObject[],
    options: AdmissionOptions = {},
  ) {
    this.services = options.serviceAddresses ?? {};
    this.log = options.logger;
  }

  /** Whether any webhook's rules name the request, selectors aside (cheap: no object needed). */
  rulesSelect(a: AdmissionAttributes): boolean {
    const named = (c: KubeObject) =>
      ((c as unknown as { webhooks?: Webhook[] }).webhooks ?? []).some((w) =>
        (w.rules ?? []).some((r) => ruleMatches(r, a)),
      );
    return this.configurations('mutating').some(named) || this.configurations('validating').some(named);
  }

  /** Whether any webhook selects the request, selectors included. */
  selects(a: AdmissionAttributes): boolean {
    return (
      matchingWebhooks(this.configurations('mutating'), a).length > 0 ||
      matchingWebhooks(this.configurations('validating'), a).length > 0
    );
  }

  /** Runs the mutating webhooks in order; returns the patched object (the same one when none patched). */
  async mutate(a: AdmissionAttributes): Promise<KubeObject | undefined> {
    let object = a.object;
    if (a.operation === 'DELETE') return object;
    for (const w of matchingWebhooks(this.configurations('mutating'), a)) {
      const r = await this.call(w, { ...a, ...(object ? { object } : {}) });
      if (r?.patch === undefined || object === undefined) continue;
      if (r.patchType !== 'JSONPatch')
        throw this.failure(w, new CallFailure(`unsupported patchType ${String(r.patchType)}`));
      let ops: JsonValue;
      try {
        ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as JsonValue;
        object = jsonPatch(object as unknown as JsonValue, ops) as unknown as KubeObject;
      } catch (e) {
        throw ApiError.internal(
          `failed calling webhook "${w.name}": the patch does not apply: ${(e as Error).message}`,
        );
      }
    }
    return object;
  }

  /** Runs the validating webhooks (in parallel, as kube-apiserver does). */
  async validate(a: AdmissionAttributes): Promise<void> {
    await Promise.all(matchingWebhooks(this.configurations('validating'), a).map((w) => this.call(w, a)));
  }

  /** One call; `undefined` when it failed and the failure policy is `Ignore`. */
  private async call(w: Webhook, a: AdmissionAttributes): Promise<ReviewResponse | undefined> {
    if (a.dryRun && w.sideEffects !== 'None' && w.sideEffects !== 'NoneOnDryRun')
      throw ApiError.badRequest(
        `admission webhook "${w.name}" does not support dry run (sideEffects: ${String(w.sideEffects)})`,
      );
    const uid = randomUUID();
    const started = Date.now();
    let response: ReviewResponse;
    try {
      if (!(w.admissionReviewVersions ?? []).includes('v1'))
        throw new CallFailure(
          'admissionReviewVersions does not include v1, the only version this server sends',
        );
      response = await post(
        w,
        this.services,
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: reviewRequest(a, uid),
        }),
      );
      if (response.uid !== uid)
        throw new CallFailure(`expected response.uid="${uid}", got "${String(response.uid)}"`);
    } catch (e) {
      if (!(e instanceof CallFailure)) throw e;
      const ignore = w.failurePolicy === 'Ignore';
      this.log?.warn(
        {
          webhook: w.name,
          operation: a.operation,
          resource: a.info.resource,
          error: e.message,
          ignored: ignore,
        },
        'admission webhook call failed',
      );
      if (ignore) return undefined;
      throw this.failure(w, e);
    }
    const fields = {
      webhook: w.name,
      operation: a.operation,
      resource: a.info.resource,
      name: a.name,
      allowed: response.allowed === true,
      ms: Date.now() - started,
    };
    if (response.allowed !== true) {
      this.log?.info(fields, 'admission webhook denied the request');
      const s = response.status ?? {};
      const message = `admission webhook "${w.name}" denied the request${s.message ? `: ${s.message}` : ' without explanation'}`;
      const code = s.code ?? 403;
      throw new ApiError(code, s.reason ?? (code === 403 ? 'Forbidden' : 'Invalid'), message, {
        ...(a.name ? { name: a.name } : {}),
        group: a.info.group,
        kind: a.info.resource,
        ...(s.details?.causes ? { causes: s.details.causes } : {}),
      });
    }
    this.log?.debug(fields, 'admission webhook allowed the request');
    return response;
  }

  private failure(w: Webhook, e: Error): ApiError {
    return ApiError.internal(`failed calling webhook "${w.name}": failed to call webhook: ${e.message}`);
  }
}
