import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { Admission, type AdmissionAttributes, type AdmissionOperation } from './admission.js';
import type { ApiCore, ListOptions, Scope, WriteOptions } from './api-core.js';
import { ANONYMOUS, type RequestRecord, rbacVerb, type TokenUser, type UserInfo } from './audit.js';
import { checkJsonDepth, checkYamlDepth } from './decode-limits.js';
import {
  aggregatedDiscovery,
  legacyApiGroup,
  legacyApiGroupList,
  legacyApiVersions,
  legacyResourceList,
  openApiGroupVersion,
  openApiRoot,
  SERVER_VERSION,
} from './discovery.js';
import { ApiError } from './errors.js';
import { duplicateJsonKeys } from './field-validation.js';
import { requireTypeMetaFields } from './object-rules.js';
import { decodeProtobufObject, PROTOBUF_TYPE } from './protobuf.js';
import {
  checkApplyFieldManager,
  checkListOptions,
  checkPropagationPolicy,
  queryBool,
  queryResourceVersion,
  queryTimeoutSeconds,
  tooLargeResourceVersion,
} from './query-params.js';
import { authorize, forbiddenMessage, type RbacObject } from './rbac.js';
import { apiVersionOf } from './resources.js';
import { parseRoute, type Route } from './routes.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { buildTable } from './table.js';
import type { KubeObject } from './types.js';
import { type OpenWatch, serveWatch } from './watch-stream.js';

/** Options of the HTTP layer. */
export interface HandlerOptions {
  /**
   * Bearer token every request (except health and version) must carry, for an admin user
   * (`admin`, group `system:masters`); no auth when neither this nor `tokens` is set.
   */
  token?: string;
  /** More tokens, each with its user (kube-apiserver's static token file). */
  tokens?: readonly TokenUser[];
  /**
   * Called with every answered request (see {@link RequestRecord}), including health checks and
   * refused ones (401 as `system:anonymous`, 400, 403).
   */
  onRequest?: (record: RequestRecord) => void;
  /**
   * `RBAC`: refuse resource requests that the stored Roles, ClusterRoles and bindings do not
   * allow (403). Discovery and OpenAPI stay open to every authenticated user (what the built-in
   * `system:discovery` ClusterRole grants on a real cluster). Default `AlwaysAllow`.
   */
  authorization?: 'AlwaysAllow' | 'RBAC';
  /** Largest accepted request body. Default 3 MiB (the real server's limit). */
  maxBodyBytes?: number;
  /** `host:port` reported in legacy `/api` discovery. */
  serverAddress: string;
  /** Default watch length when the client sends no `timeoutSeconds`. Default 30 min. */
  watchTimeoutMs?: number;
  /** Interval of BOOKMARK events on watches that allow them. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** A watcher whose unsent backlog exceeds this is disconnected (it resumes from its last RV). Default 64 MiB. */
  watchMaxBacklogBytes?: number;
  /** Where admission webhooks' `clientConfig.service` are reached (`<ns>/<name>:<port>` to `host:port`). */
  webhookServiceAddresses?: Readonly<Record<string, string>>;
  logger?: Logger;
}

/** The request handler plus a way to end every open watch (for shutdown). */
export interface RequestHandler {
  handle(req: IncomingMessage, res: ServerResponse): void;
  closeWatches(): void;
}

const TABLE_MARK = 'as=Table';

/** The name a field selector pins (`metadata.name=x` or `==x` among its terms), if any. */
export function nameFromFieldSelector(selector: string): string | undefined {
  for (const term of selector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*(\S+?)\s*$/.exec(term);
    if (m) return m[1];
  }
  return undefined;
}
const DISCOVERY_MARK = 'as=APIGroupDiscoveryList';

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown, log: Logger | undefined): void {
  const err = e instanceof ApiError ? e : ApiError.internal(e instanceof Error ? e.message : String(e));
  if (!(e instanceof ApiError)) log?.error({ err: e }, 'request failed with an internal error');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.httpStatus, err.toStatus(), err.httpStatus === 413 ? { Connection: 'close' } : {});
}

/** Reads the body, failing with 413 once it exceeds `limit` (the rest is drained, not buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(c);
    });
    req.on('end', () => (tooLarge ? reject(ApiError.tooLarge(limit)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/** Body media types kube-apiserver decodes for built-in kinds (custom resources: no protobuf). */
const BODY_TYPES = ['application/json', 'application/yaml', PROTOBUF_TYPE];

function decodeBody(raw: Buffer, contentType: string, custom: boolean): unknown {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  // text/plain, XML, forms and multipart are refused as the real server does, not read as JSON.
  const accepted = custom ? BODY_TYPES.slice(0, 2) : BODY_TYPES;
  if (type !== '' && type !== 'application/x-yaml' && !accepted.includes(type))
    throw ApiError.unsupportedMediaType(accepted);
  if (type === PROTOBUF_TYPE) return decodeProtobufObject(raw);
  const text = raw.toString('utf8');
  const yaml = type === 'application/yaml' || type === 'application/x-yaml';
  (yaml ? checkYamlDepth : checkJsonDepth)(text, 'the object provided is unrecognized');
  try {
    if (type === 'application/yaml' || type === 'application/x-yaml') return parseYaml(text) as unknown;
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw ApiError.badRequest(
      `the object provided is unrecognized: error decoding body: ${(e as Error).message}`,
    );
  }
}

/** Whether a write body is JSON (no or a JSON content type), the form duplicate keys are looked for in. */
function isJsonBody(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === '' || type === 'application/json';
}

const ACCEPTABLE = new Set(['*/*', 'application/*', 'application/json', 'application/yaml', PROTOBUF_TYPE]);

/**
 * 406 when no media range of the Accept header is one this server can answer in (JSON; YAML and
 * protobuf requests get JSON, which their clients also read), as kube-apiserver refuses
 * `Accept: application/xml` before running the request.
 */
function refuseUnacceptable(accept: string): void {
  if (accept.trim() === '') return;
  for (const range of accept.split(','))
    if (ACCEPTABLE.has(range.split(';', 1)[0]?.trim().toLowerCase() ?? '')) return;
  throw new ApiError(
    406,
    'NotAcceptable',
    `only the following media types are accepted: application/json, application/yaml, ${PROTOBUF_TYPE}`,
  );
}

/**
 * Refuses `.` and `..` path segments, raw or percent-encoded, before any routing: URL parsing
 * would resolve them and turn `DELETE …/configmaps/%2e%2e` into a request on the namespace.
 * Backslashes count as separators too, since the URL parser treats them so.
 */
export function refuseDotSegments(rawUrl: string): void {
  const path = rawUrl.split(/[?#]/, 1)[0] ?? '';
  for (const seg of path.split(/[/\\]/)) {
    let d: string;
    try {
      d = decodeURIComponent(seg);
    } catch {
      continue; // malformed escapes are refused by routing
    }
    if (d === '.' || d === '..') throw ApiError.badRequest(`invalid path segment "${d}": may not be '${d}'`);
  }
}

function boolParam(q: URLSearchParams, name: string): boolean {
  return queryBool(q, name);
}

function listOptions(q: URLSearchParams, fieldLabels: string[]): ListOptions {
  const opts: ListOptions = {
    labels: parseLabelSelector(q.get('labelSelector') ?? ''),
    fields: parseFieldSelector(q.get('fieldSelector') ?? '', [
      'metadata.name',
      'metadata.namespace',
      ...fieldLabels,
    ]),
  };
  const limit = q.get('limit');
  if (limit !== null && limit !== '') {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 0) throw ApiError.badRequest(`invalid limit: ${limit}`);
    opts.limit = n;
  }
  const cont = q.get('continue');
  if (cont !== null && cont !== '') opts.continueToken = cont;
  return opts;
}

function writeOptions(q: URLSearchParams): WriteOptions {
  const fv = q.get('fieldValidation') ?? 'Warn';
  if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
    throw ApiError.badRequest(
      `fieldValidation parameter unsupported: ${fv}; supported values are Strict, Warn and Ignore`,
    );
  }
  const dry = q.getAll('dryRun');
  if (dry.some((d) => d !== 'All')) throw ApiError.badRequest(`unsupported dryRun value: ${dry.join(',')}`);
  return { fieldValidation: fv, dryRun: dry.length > 0, warnings: [] };
}

function warningHeader(opts: WriteOptions): Record<string, string> {
  if (opts.warnings.length === 0) return {};
  return { Warning: opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

/**
 * Creates the HTTP request handler of the API server over an {@link ApiCore}. Every failure is
 * answered with a Kubernetes `Status` body; an exception never escapes to Node's HTTP server.
 */
export function createRequestHandler(core: ApiCore, opts: HandlerOptions): RequestHandler {
  const maxBody = opts.maxBodyBytes ?? 3 * 1024 * 1024;
  const watches = new Set<OpenWatch>();
  const log = opts.logger;
  const users: TokenUser[] = [...(opts.tokens ?? [])];
  if (opts.token !== undefined) users.push({ token: opts.token, user: 'admin', groups: ['system:masters'] });
  const tokens = users.map((u) => ({ user: u, bytes: Buffer.from(u.token) }));

  /** The user of a request; undefined when it must be refused (401). The scheme is case-insensitive. */
  const authenticate = (req: IncomingMessage): UserInfo | undefined => {
    if (tokens.length === 0) return ANONYMOUS;
    const m = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const got = Buffer.from(m[1] ?? '');
    let found: UserInfo | undefined;
    // Every candidate is compared (constant time per token), so timing says nothing about which.
    for (const t of tokens)
      if (t.bytes.length === got.length && timingSafeEqual(t.bytes, got)) found = t.user;
    // Every authenticated user is in system:authenticated, as kube-apiserver adds it.
    if (found !== undefined && !found.groups.includes('system:authenticated'))
      found = { ...found, groups: [...found.groups, 'system:authenticated'] };
    return found;
  };

  const rbacObjects = (): RbacObject[] =>
    ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'].flatMap(
      (r) => core.storage.list(`rbac.authorization.k8s.io/${r}`) as unknown as RbacObject[],
    );

  const admission = new Admission(
    (kind) => core.storage.list(`admissionregistration.k8s.io/${kind}webhookconfigurations`),
    {
      ...(opts.webhookServiceAddresses ? { serviceAddresses: opts.webhookServiceAddresses } : {}),
      ...(log ? { logger: log } : {}),
    },
  );
  const userOf = (req: IncomingMessage): UserInfo => {
    const r = pending.get(req);
    return r ? { user: r.user, groups: r.groups } : ANONYMOUS;
  };

  /**
   * A write through admission: the verb runs once as a dry run to get the object it would store,
   * the mutating webhooks patch it, the result is validated again, the validating webhooks see
   * it, and only then is it written (as kube-apiserver orders it). Without a matching webhook the
   * verb runs directly.
   */
  const admitWrite = async (
    req: IncomingMessage,
    scope: Scope,
    wo: WriteOptions,
    run: (o: WriteOptions) => KubeObject,
  ): Promise<KubeObject> => {
    const info = scope.served.info;
    const existing =
      scope.name === undefined ? undefined : core.storage.get(info.storageKey, scope.namespace, scope.name);
    const operation: AdmissionOperation = existing === undefined ? 'CREATE' : 'UPDATE';
    const base: AdmissionAttributes = {
      operation,
      info,
      ...(scope.subresource ? { subresource: scope.subresource } : {}),
      namespace: scope.namespace,
      name: scope.name ?? '',
      ...(existing ? { oldObject: core.present(info, existing) } : {}),
      dryRun: wo.dryRun,
      user: userOf(req),
      ...(info.namespaced ? { namespaceLabels: namespaceLabels(scope.namespace) } : {}),
    };
    if (!admission.rulesSelect(base)) return run(wo);
    // The selectors need the object: a dry run gives it as it would be stored.
    const candidate = run({ ...wo, dryRun: true, warnings: [] });
    const attrs: AdmissionAttributes = {
      ...base,
      object: candidate,
      name: candidate.metadata.name ?? base.name,
    };
    if (!admission.selects(attrs)) return run(wo);
    const mutated = (await admission.mutate(attrs)) ?? candidate;
    const write = (o: WriteOptions) =>
      operation === 'CREATE'
        ? core.create(scope, structuredClone(mutated), o)
        : core.update(scope, structuredClone(mutated), o, false);
    const final = mutated === candidate ? candidate : write({ ...wo, dryRun: true, warnings: [] });
    await admission.validate({ ...attrs, object: final });
    return write(wo);
  };

  /** Deletes through the validating webhooks that select the delete. */
  const admitDelete = async (req: IncomingMessage, scope: Scope, dryRun: boolean): Promise<void> => {
    const info = scope.served.info;
    const existing = core.storage.get(info.storageKey, scope.namespace, scope.name ?? '');
    if (existing === undefined) return; // the delete answers 404
    const attrs: AdmissionAttributes = {
      operation: 'DELETE',
      info,
      namespace: scope.namespace,
      name: scope.name ?? '',
      oldObject: core.present(info, existing),
      dryRun,
      user: userOf(req),
      ...(info.namespaced ? { namespaceLabels: namespaceLabels(scope.namespace) } : {}),
    };
    if (admission.rulesSelect(attrs) && admission.selects(attrs)) await admission.validate(attrs);
  };

  const namespaceLabels = (ns: string): Record<string, string> =>
    core.storage.get('/namespaces', '', ns)?.metadata.labels ?? {};

  /** What the current request is, for its record (filled as routing learns it). */
  const pending = new WeakMap<IncomingMessage, Omit<RequestRecord, 'code'>>();

  const handleResource = async (
    req: IncomingMessage,
    res: ServerResponse,
    route: Extract<Route, { kind: 'resource' }>,
    q: URLSearchParams,
  ) => {
    const served = core.registry.lookup(route.group, route.version, route.resource);
    if (served === undefined) throw ApiError.pathNotFound();
    const info = served.info;
    if (route.subresource !== undefined && !(route.subresource === 'status' && info.hasStatus))
      throw ApiError.pathNotFound();
    if (route.namespace !== '' && !info.namespaced) throw ApiError.pathNotFound();
    const scope: Scope = { served, namespace: info.namespaced ? route.namespace : '' };
    if (route.name !== undefined) scope.name = route.name;
    if (route.subresource === 'status') scope.subresource = 'status';
    const method = req.method ?? 'GET';
    const who = pending.get(req);
    // As kube-apiserver: a list or watch selecting one object by `metadata.name` carries that
    // name, so a rule with resourceNames can allow watching a single object (e.g. one Lease).
    const byName =
      route.name ?? (method === 'GET' ? nameFromFieldSelector(q.get('fieldSelector') ?? '') : undefined);
    if (who !== undefined)
      pending.set(req, {
        user: who.user,
        groups: who.groups,
        verb: rbacVerb(method, route.name === undefined, Boolean(route.watchPath || boolParam(q, 'watch'))),
        apiGroup: route.group,
        apiVersion: route.version,
        resource: route.resource,
        ...(route.subresource !== undefined ? { subresource: route.subresource } : {}),
        ...(scope.namespace !== '' ? { namespace: scope.namespace } : {}),
        ...(byName !== undefined ? { name: byName } : {}),
      });
    if (opts.authorization === 'RBAC') {
      const rec = pending.get(req);
      if (rec !== undefined && !authorize({ ...rec, code: 0 }, rbacObjects()).allowed)
        throw ApiError.forbidden(forbiddenMessage({ ...rec, code: 0 }), {
          ...(route.name !== undefined ? { name: route.name } : {}),
          ...(route.group !== '' ? { group: route.group } : {}),
          kind: route.resource,
        });
    }
    const accept = req.headers.accept ?? '';
    refuseUnacceptable(accept);
    const table = accept.includes(TABLE_MARK);
    const isCollection = route.name === undefined;
    if (info.namespaced && scope.namespace === '' && (method === 'POST' || !isCollection))
      throw ApiError.pathNotFound();

    if (method === 'GET' && (route.watchPath || boolParam(q, 'watch'))) {
      const lo = listOptions(q, info.fieldLabels);
      if (!isCollection) lo.fields.push({ field: 'metadata.name', op: '=', value: route.name as string });
      const timeoutSeconds = queryTimeoutSeconds(q) ?? Number.NaN;
      queryResourceVersion(q);
      let handle: OpenWatch | undefined;
      handle = serveWatch(
        core,
        {
          info,
          namespace: scope.namespace,
          labels: lo.labels,
          fields: lo.fields,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          allowBookmarks: boolParam(q, 'allowWatchBookmarks'),
          sendInitialEvents: boolParam(q, 'sendInitialEvents'),
          timeoutMs:
            Number.isFinite(timeoutSeconds) && timeoutSeconds > 0
              ? timeoutSeconds * 1000
              : (opts.watchTimeoutMs ?? 30 * 60_000),
          bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
          table,
          maxBacklogBytes: opts.watchMaxBacklogBytes ?? 64 * 1024 * 1024,
        },
        res,
        () => {
          if (handle !== undefined) watches.delete(handle);
        },
      );
      if (!res.writableEnded) watches.add(handle);
      return;
    }

    if (method === 'GET') {
      const rv = queryResourceVersion(q);
      if (isCollection) checkListOptions(q);
      if (rv !== undefined && rv > core.storage.currentRv())
        throw tooLargeResourceVersion(rv, core.storage.currentRv());
      if (isCollection) {
        const r = core.list(scope, listOptions(q, info.fieldLabels));
        if (table) {
          const t = buildTable(info, r.items, r.resourceVersion, core.env.now());
          if (r.continueToken !== '') t.metadata.continue = r.continueToken;
          sendJson(res, 200, t);
          return;
        }
        const metadata: Record<string, unknown> = {
          resourceVersion: r.resourceVersion,
          continue: r.continueToken,
        };
        if (r.remaining !== undefined) metadata.remainingItemCount = r.remaining;
        sendJson(res, 200, {
          apiVersion: apiVersionOf(info.group, info.version),
          kind: info.listKind,
          metadata,
          items: r.items,
        });
        return;
      }
      const o = core.get(scope);
      sendJson(res, 200, table ? buildTable(info, [o], o.metadata.resourceVersion ?? '', core.env.now()) : o);
      return;
    }

    if (method === 'DELETE') {
      const raw = await readBody(req, maxBody);
      const body =
        raw.length === 0
          ? undefined
          : decodeBody(raw, req.headers['content-type'] ?? 'application/json', info.custom);
      checkPropagationPolicy(q, body);
      if (isCollection) {
        // kube-apiserver serves no deletecollection for namespaces.
        if (info.resource === 'namespaces') throw ApiError.methodNotAllowed();
        // dryRun=All in the query or in the DeleteOptions body: nothing is deleted.
        const dryRun =
          q.getAll('dryRun').includes('All') ||
          (typeof body === 'object' &&
            body !== null &&
            Array.isArray((body as { dryRun?: unknown }).dryRun) &&
            ((body as { dryRun: unknown[] }).dryRun as unknown[]).includes('All'));
        core.deleteCollection(scope, listOptions(q, info.fieldLabels), { dryRun });
        sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
        return;
      }
      if (scope.subresource !== undefined) throw ApiError.methodNotAllowed();
      const dry = q.getAll('dryRun').includes('All');
      await admitDelete(req, scope, dry);
      const r = core.delete(
        scope,
        dry ? { ...(typeof body === 'object' && body !== null ? body : {}), dryRun: ['All'] } : body,
      );
      if (!r.gone) {
        sendJson(res, 200, r.object);
        return;
      }
      const details: Record<string, string> = {
        name: r.object.metadata.name ?? '',
        kind: info.resource,
        uid: r.object.metadata.uid ?? '',
      };
      if (info.group !== '') details.group = info.group;
      sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details });
      return;
    }

    if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const wo = writeOptions(q);
      const raw = await readBody(req, maxBody);
      const contentType = req.headers['content-type'] ?? 'application/json';
      if (method === 'PATCH') {
        if (isCollection) throw ApiError.methodNotAllowed();
        checkApplyFieldManager(q, contentType);
        const text = raw.toString('utf8');
        const o = await admitWrite(req, scope, wo, (w) => core.patch(scope, contentType, text, w));
        sendJson(res, 200, o, warningHeader(wo));
        return;
      }
      const body = decodeBody(raw, contentType, info.custom);
      if (info.custom) requireTypeMetaFields(body);
      if (isJsonBody(contentType) && wo.fieldValidation !== 'Ignore')
        wo.duplicateFields = duplicateJsonKeys(raw.toString('utf8'));
      if (method === 'POST') {
        if (!isCollection) throw ApiError.methodNotAllowed();
        const o = await admitWrite(req, scope, wo, (w) => core.create(scope, structuredClone(body), w));
        sendJson(res, 201, o, warningHeader(wo));
        return;
      }
      if (isCollection) throw ApiError.methodNotAllowed();
      const o = await admitWrite(req, scope, wo, (w) => core.update(scope, structuredClone(body), w));
      sendJson(res, 200, o, warningHeader(wo));
      return;
    }
    throw ApiError.methodNotAllowed();
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    // Recorded as anonymous until authentication says who it is (a 401 or 400 is recorded too).
    pending.set(req, {
      user: ANONYMOUS.user,
      groups: ANONYMOUS.groups,
      verb: 'get',
      path: (req.url ?? '/').split('?', 1)[0] ?? '/',
    });
    try {
      // Prefixing keeps `//x` paths from being read as protocol-relative URLs.
      const raw = req.url ?? '/';
      refuseDotSegments(raw);
      url = new URL(`http://localhost${raw.startsWith('/') ? raw : `/${raw}`}`);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw ApiError.badRequest('malformed request URL');
    }
    const r = parseRoute(url.pathname);
    const m = req.method ?? 'GET';
    const pathVerb = m === 'GET' || m === 'HEAD' ? 'get' : m.toLowerCase();
    pending.set(req, { user: ANONYMOUS.user, groups: ANONYMOUS.groups, verb: pathVerb, path: url.pathname });
    if (r.kind === 'health') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (r.kind === 'version') {
      sendJson(res, 200, SERVER_VERSION);
      return;
    }
    const who = authenticate(req);
    if (who === undefined) throw ApiError.unauthorized();
    pending.set(req, { user: who.user, groups: who.groups, verb: pathVerb, path: url.pathname });
    const accept = req.headers.accept ?? '';
    const method = req.method ?? 'GET';
    if (r.kind !== 'resource' && method !== 'GET' && method !== 'HEAD') throw ApiError.methodNotAllowed();
    switch (r.kind) {
      case 'discovery-api':
      case 'discovery-apis': {
        const core_ = r.kind === 'discovery-api';
        if (accept.includes(DISCOVERY_MARK)) {
          // The client picks aggregated vs legacy from the response Content-Type: echo the version it asked for.
          const v =
            /g=apidiscovery\.k8s\.io;\s*v=v2;/.test(accept) || accept.includes('v=v2;as=') ? 'v2' : 'v2beta1';
          const body = aggregatedDiscovery(core.registry, core_, `apidiscovery.k8s.io/${v}`);
          sendJson(res, 200, body, {
            'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
            Vary: 'Accept',
          });
          return;
        }
        sendJson(
          res,
          200,
          core_ ? legacyApiVersions(opts.serverAddress) : legacyApiGroupList(core.registry),
          { Vary: 'Accept' },
        );
        return;
      }
      case 'discovery-group': {
        const g = legacyApiGroup(core.registry, r.group);
        if (g === undefined) throw ApiError.pathNotFound();
        sendJson(res, 200, g);
        return;
      }
      case 'discovery-gv': {
        const l = legacyResourceList(core.registry, r.group, r.version);
        if (l === undefined) throw ApiError.pathNotFound();
        sendJson(res, 200, l);
        return;
      }
      case 'openapi-root':
        sendJson(res, 200, openApiRoot(core.registry));
        return;
      case 'openapi-gv': {
        const d = openApiGroupVersion(core.registry, r.group, r.version);
        if (d === undefined) throw ApiError.pathNotFound();
        sendJson(res, 200, d);
        return;
      }
      case 'resource':
        await handleResource(req, res, r, url.searchParams);
        return;
      default:
        throw ApiError.pathNotFound();
    }
  };

  return {
    handle(req, res) {
      const started = core.env.now();
      route(req, res)
        .catch((e: unknown) => sendError(res, e, log))
        .finally(() => {
          const rec = pending.get(req);
          if (rec !== undefined && opts.onRequest !== undefined) {
            try {
              opts.onRequest({ ...rec, code: res.statusCode });
            } catch (err) {
              log?.warn({ err: (err as Error).message }, 'request record not written');
            }
          }
          log?.debug(
            { method: req.method, url: req.url, code: res.statusCode, ms: core.env.now() - started },
            'request',
          );
        });
    },
    closeWatches() {
      for (const w of [...watches]) w.close();
    },
  };
}
