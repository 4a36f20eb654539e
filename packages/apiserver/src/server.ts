import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { ApiCore } from './api-core.js';
import { auditLogWriter, type RequestRecord, type TokenUser } from './audit.js';
import { ApiError } from './errors.js';
import { createRequestHandler } from './http-handler.js';
import { FileJournal, type Journal } from './journal.js';
import { buildKubeconfig, type KubeconfigDoc, kubeconfigYaml } from './kubeconfig.js';
import { MemoryStorage } from './memory-storage.js';
import { Registry } from './registry.js';
import type { Storage } from './storage.js';
import { type CertAndKey, generateSelfSigned } from './tls.js';

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Listen address. Default `127.0.0.1` (loopback only). */
  host?: string;
  /** Directory for the durable journal; in memory only when undefined. */
  dataDir?: string;
  /** Require `Authorization: Bearer <token>` (user `admin`, group `system:masters`); the kubeconfig carries it. */
  token?: string;
  /** More bearer tokens, each with its user and groups (kube-apiserver's static token file). */
  tokens?: readonly TokenUser[];
  /** Append every request to this file, one JSON {@link RequestRecord} a line (opened for append). */
  auditLogPath?: string;
  /** Called with every request's record once it is answered (beside `auditLogPath`). */
  onRequest?: (record: RequestRecord) => void;
  /** `RBAC` enforces the stored Roles and bindings (403 otherwise); default `AlwaysAllow`. */
  authorization?: 'AlwaysAllow' | 'RBAC';
  /** `true`: serve HTTPS with a self-signed certificate generated at start (needs `openssl`); or a given cert. */
  tls?: boolean | CertAndKey;
  /** Events retained per resource for watch resume (older resourceVersions get 410 Gone). Default 10,000. */
  watchWindow?: number;
  /** Bound on the JSON size of the events retained per resource (older ones get 410 Gone). Default 64 MiB. */
  watchWindowBytes?: number;
  /** Default watch duration when the client sends no `timeoutSeconds`. Default 30 min. */
  watchTimeoutMs?: number;
  /** Interval of BOOKMARK events on watches that ask for them. Default 60 s. */
  bookmarkIntervalMs?: number;
  /** A watcher whose unsent backlog exceeds this is disconnected (it resumes from its last RV). Default 64 MiB. */
  watchMaxBacklogBytes?: number;
  /** Largest request body. Default 3 MiB. */
  maxBodyBytes?: number;
  /** Time a client has to send the request headers (Node `headersTimeout`). Default 60 s. */
  headersTimeoutMs?: number;
  /**
   * Time a client has to send the whole request, body included (Node `requestTimeout`); a stalled
   * body is answered 408 and closed. Responses (watches) are not limited by it. Default 60 s (as
   * kube-apiserver's `--request-timeout`); must not be below `headersTimeoutMs`.
   */
  requestTimeoutMs?: number;
  /** Open connections at most; further ones are closed at once (Node `maxConnections`). Default 1,000. */
  maxConnections?: number;
  /** Compact the journal at start when it holds more than `compactMinRecords` lines and over twice its live content. Default true. */
  compactJournal?: boolean;
  /** Journal length below which no compaction happens. Default 10,000. */
  compactMinRecords?: number;
  /** A storage engine to use instead of the built-in one (`dataDir` is then ignored). */
  storage?: Storage;
  /** Clock for timestamps and ages; defaults to `Date.now`. */
  now?: () => number;
  /**
   * Where admission webhooks' `clientConfig.service` are reached: `<namespace>/<name>:<port>` to
   * `host:port` (no Services or cluster DNS here). The TLS server name stays
   * `<name>.<namespace>.svc`, as kube-apiserver sends it.
   */
  webhookServiceAddresses?: Readonly<Record<string, string>>;
  logger?: Logger;
}

/** A running API server. */
export interface ApiServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  /** Kubeconfig for this server (object form). */
  kubeconfig: KubeconfigDoc;
  /** The same kubeconfig as YAML (for `KubeConfig.loadFromString` or a file for kubectl). */
  kubeconfigYaml: string;
  /** PEM certificate of the server when TLS is on (also in the kubeconfig as CA data). */
  caPem?: string;
  /** The verbs without HTTP (for in-process seeding). */
  core: ApiCore;
  /** Ends all watches, stops listening, closes the journal. */
  close(): Promise<void>;
}

/**
 * Starts an embedded Kubernetes API server that kubectl and `@kubernetes/client-node` use
 * unchanged.
 *
 * @example
 * ```ts
 * import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
 * const server = await startApiServer({ port: 0 });
 * const kc = new KubeConfig();
 * kc.loadFromString(server.kubeconfigYaml);
 * await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'demo' } } });
 * await server.close();
 * ```
 */
export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  let storage: Storage;
  if (opts.storage !== undefined) {
    storage = opts.storage;
  } else if (opts.dataDir !== undefined) {
    const opened = FileJournal.open(opts.dataDir);
    let journal: Journal = opened.journal;
    // Indirection so compaction below can swap the file the storage appends to.
    const mem = new MemoryStorage({
      journal: { append: (r) => journal.append(r), close: () => journal.close() },
      ...(opts.watchWindow !== undefined ? { windowSize: opts.watchWindow } : {}),
      ...(opts.watchWindowBytes !== undefined ? { windowBytes: opts.watchWindowBytes } : {}),
    });
    const records = opened.records;
    if (opened.dropped !== undefined)
      opts.logger?.warn(
        { ...opened.dropped, lastResourceVersion: records.at(-1)?.rv ?? 0 },
        'journal torn last record dropped',
      );
    mem.replay(records);
    // Compaction at start: when the log is much longer than what it describes, rewrite it as the
    // live objects plus the retained watch windows (watches still resume across the restart).
    const compacted = mem.compactedSize();
    if (
      opts.compactJournal !== false &&
      records.length > (opts.compactMinRecords ?? 10_000) &&
      records.length > 2 * compacted
    ) {
      journal = FileJournal.rewrite(opts.dataDir, mem.compactedRecords(), opened.journal);
      opts.logger?.info(
        { dataDir: opts.dataDir, before: records.length, after: compacted },
        'journal compacted',
      );
    }
    storage = mem;
    opts.logger?.info(
      { dataDir: opts.dataDir, records: records.length, resourceVersion: mem.currentRv() },
      'journal replayed',
    );
  } else {
    storage = new MemoryStorage({
      ...(opts.watchWindow !== undefined ? { windowSize: opts.watchWindow } : {}),
      ...(opts.watchWindowBytes !== undefined ? { windowBytes: opts.watchWindowBytes } : {}),
    });
  }
  const core = new ApiCore(storage, new Registry(), opts.now !== undefined ? { now: opts.now } : {});
  core.bootstrap();

  let tls: CertAndKey | undefined;
  if (opts.tls === true)
    tls = generateSelfSigned([
      '127.0.0.1',
      'localhost',
      '::1',
      ...(host === '127.0.0.1' || host === '0.0.0.0' ? [] : [host]),
    ]);
  else if (typeof opts.tls === 'object') tls = opts.tls;

  const handlerOpts: Parameters<typeof createRequestHandler>[1] = {
    serverAddress: `${host}:${opts.port ?? 0}`,
  };
  if (opts.token !== undefined) handlerOpts.token = opts.token;
  if (opts.tokens !== undefined) handlerOpts.tokens = opts.tokens;
  if (opts.authorization !== undefined) handlerOpts.authorization = opts.authorization;
  const audit = opts.auditLogPath === undefined ? undefined : auditLogWriter(opts.auditLogPath);
  if (audit !== undefined || opts.onRequest !== undefined)
    handlerOpts.onRequest = (r) => {
      audit?.write(r);
      opts.onRequest?.(r);
    };
  if (opts.maxBodyBytes !== undefined) handlerOpts.maxBodyBytes = opts.maxBodyBytes;
  if (opts.watchTimeoutMs !== undefined) handlerOpts.watchTimeoutMs = opts.watchTimeoutMs;
  if (opts.bookmarkIntervalMs !== undefined) handlerOpts.bookmarkIntervalMs = opts.bookmarkIntervalMs;
  if (opts.watchMaxBacklogBytes !== undefined) handlerOpts.watchMaxBacklogBytes = opts.watchMaxBacklogBytes;
  if (opts.webhookServiceAddresses !== undefined)
    handlerOpts.webhookServiceAddresses = opts.webhookServiceAddresses;
  if (opts.logger !== undefined) handlerOpts.logger = opts.logger.child({ component: 'apiserver' });
  const handler = createRequestHandler(core, handlerOpts);

  const headersTimeout = opts.headersTimeoutMs ?? 60_000;
  const requestTimeout = opts.requestTimeoutMs ?? 60_000;
  if (!(headersTimeout > 0 && requestTimeout >= headersTimeout))
    throw new Error(
      `requestTimeoutMs (${requestTimeout}) must be at least headersTimeoutMs (${headersTimeout}), both above 0`,
    );
  // Node checks the two timeouts on this interval: a fraction of the shorter one, at most 30 s.
  const connectionsCheckingInterval = Math.max(10, Math.min(30_000, Math.floor(headersTimeout / 4)));
  const serverOpts = {
    keepAliveTimeout: 30_000,
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval,
  };
  const server: Server =
    tls === undefined
      ? createHttpServer(serverOpts, handler.handle)
      : createHttpsServer({ ...tls, ...serverOpts }, handler.handle);
  // requestTimeout covers receiving the request only: a watch's response streams on after it.
  server.maxConnections = opts.maxConnections ?? 1000;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (err: Error, socket) => {
    // Unparsable HTTP: still answer with a Status body, then drop the connection.
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const code = (err as NodeJS.ErrnoException).code;
    const [status, text, e] =
      code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [
            408,
            'Request Timeout',
            new ApiError(408, 'Timeout', 'request not received in time; the connection is closed'),
          ]
        : code === 'HPE_HEADER_OVERFLOW'
          ? [
              431,
              'Request Header Fields Too Large',
              new ApiError(431, 'RequestHeaderFieldsTooLarge', 'request header fields too large'),
            ]
          : [400, 'Bad Request', ApiError.badRequest(`malformed HTTP request: ${err.message}`)];
    const body = JSON.stringify(e.toStatus());
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  handlerOpts.serverAddress = `${host}:${port}`;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `${tls === undefined ? 'http' : 'https'}://${urlHost}:${port}`;
  const kcOpts: { token?: string; caPem?: string } = {};
  if (opts.token !== undefined) kcOpts.token = opts.token;
  if (tls !== undefined) kcOpts.caPem = tls.cert;
  const kubeconfig = buildKubeconfig(url, kcOpts);
  const auth = opts.token !== undefined || (opts.tokens?.length ?? 0) > 0;
  opts.logger?.info(
    { url, address: `${host}:${port}`, tls: tls !== undefined, auth },
    'api server listening',
  );
  if (!isLoopbackHost(host) && !auth)
    opts.logger?.warn(
      { address: `${host}:${port}`, tls: tls !== undefined },
      'api server reachable beyond loopback without authentication: anyone who can connect may read and write everything; set a token or listen on 127.0.0.1',
    );

  let closed: Promise<void> | undefined;
  const result: ApiServer = {
    url,
    port,
    kubeconfig,
    kubeconfigYaml: kubeconfigYaml(kubeconfig),
    core,
    close() {
      closed ??= new Promise<void>((resolve) => {
        handler.closeWatches();
        server.close(() => {
          storage.close();
          audit?.close();
          resolve();
        });
        server.closeIdleConnections();
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
  if (tls !== undefined) result.caPem = tls.cert;
  return result;
}

/** Whether a listen address is reachable only from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
