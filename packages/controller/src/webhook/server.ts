/**
 * The admission webhook's HTTPS server: `POST /validate` and `POST /mutate` take an
 * `admission.k8s.io/v1` AdmissionReview and answer one; `GET /healthz` answers `ok`. Every
 * replica serves it (the decisions read only the informer caches), so admission does not wait
 * for a leader. The certificate can be replaced while serving ({@link WebhookServer.setCertificate}):
 * new connections get the new one, open ones keep theirs.
 */
import { createServer, type Server } from 'node:https';
import { type Logger, listenOn, parseAddress } from '@egressgateway/kube';
import {
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionView,
  mutateAdmission,
  validateAdmission,
} from './review.js';
import type { PemPair } from './x509.js';

/** Latency histogram the server observes (the controller's `webhookDuration`). */
export interface WebhookMetrics {
  readonly webhookDuration: {
    observe(
      labels: { webhook: string; kind: string; operation: string; outcome: string },
      seconds: number,
    ): void;
  };
}

/** Options of {@link startWebhookServer}. */
export interface WebhookServerOptions {
  /** `host:port`; port 0 picks a free one. */
  readonly address: string;
  readonly certificate: PemPair;
  readonly view: AdmissionView;
  readonly logger: Logger;
  readonly metrics?: WebhookMetrics;
  /**
   * Largest request body (default 8 MiB: an AdmissionReview carries the object and the old
   * object, each up to the API server's 3 MiB request limit).
   */
  readonly maxBodyBytes?: number;
  /**
   * A request must arrive in full within this (default 5 s, well under kube-apiserver's default
   * webhook timeout of 10 s): a stalled client cannot hold a connection.
   */
  readonly requestTimeoutMs?: number;
}

/** A running webhook server. */
export interface WebhookServer {
  /** `https://host:port`. */
  readonly url: string;
  readonly port: number;
  /** Serve `pair` to new connections from now on. */
  setCertificate(pair: PemPair): void;
  close(): Promise<void>;
}

const HANDLERS = { '/validate': validateAdmission, '/mutate': mutateAdmission } as const;

class BadReview extends Error {}

function parseReview(body: Buffer): AdmissionRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadReview('the body is not JSON: send an admission.k8s.io/v1 AdmissionReview');
  }
  const review = doc as { apiVersion?: unknown; kind?: unknown; request?: AdmissionRequest } | null;
  if (review?.kind !== 'AdmissionReview' || review.apiVersion !== 'admission.k8s.io/v1')
    throw new BadReview(
      `expected apiVersion admission.k8s.io/v1, kind AdmissionReview (got ${String(review?.apiVersion)}, ${String(review?.kind)}): set admissionReviewVersions: ["v1"]`,
    );
  const req = review.request;
  if (!req || typeof req.uid !== 'string' || req.uid === '' || typeof req.kind?.kind !== 'string')
    throw new BadReview('request.uid and request.kind are required');
  return req;
}

/**
 * Starts the webhook's HTTPS server.
 *
 * @example
 * const server = await startWebhookServer({ address: '0.0.0.0:9443', certificate, view, logger });
 * // later, after rotation:
 * server.setCertificate(next);
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  parseAddress(options.address); // a wrong address fails before any work
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const log = options.logger.child({ component: 'webhook' });
  const server: Server = createServer({
    cert: options.certificate.cert,
    key: options.certificate.key,
    requestTimeout: options.requestTimeoutMs ?? 5_000,
    headersTimeout: Math.min(options.requestTimeoutMs ?? 5_000, 5_000),
  });
  server.on('request', (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const text = (code: number, body: string) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    if (path === '/healthz' && req.method === 'GET') return text(200, 'ok\n');
    const decide = HANDLERS[path as keyof typeof HANDLERS];
    if (!decide) return text(404, 'not found: POST /validate or /mutate\n');
    if (req.method !== 'POST') return text(405, 'method not allowed: POST an AdmissionReview\n');
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped (bounded by the request timeout), so the client
    // gets its 413 rather than a reset.
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBody) chunks.push(c);
    });
    req.on('end', () => {
      if (size > maxBody) return text(413, `request body over ${maxBody} bytes\n`);
      const webhook = path.slice(1);
      let request: AdmissionRequest;
      try {
        request = parseReview(Buffer.concat(chunks));
      } catch (err) {
        const message = err instanceof BadReview ? err.message : String(err);
        log.warn({ webhook, err: message }, 'bad admission review');
        return text(400, `${message}\n`);
      }
      let response: AdmissionResponse;
      let outcome: string;
      try {
        response = decide(request, options.view);
        outcome = response.allowed ? 'allowed' : 'denied';
      } catch (err) {
        // A bug must not look like a refusal of the user's object, nor let it in unchecked.
        log.error({ webhook, uid: request.uid, err }, 'admission decision failed');
        response = {
          uid: request.uid,
          allowed: false,
          status: {
            code: 500,
            reason: 'Invalid',
            message: `internal error in the egressgateway webhook: ${String(err)}`,
          },
        };
        outcome = 'error';
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { webhook, kind: request.kind.kind, operation: request.operation, outcome };
      options.metrics?.webhookDuration.observe(labels, seconds);
      const fields = {
        webhook,
        uid: request.uid,
        kind: request.kind.kind,
        operation: request.operation,
        ...(request.namespace ? { namespace: request.namespace } : {}),
        ...(request.name ? { name: request.name } : {}),
        ...(request.dryRun ? { dryRun: true } : {}),
        ms: Math.round(seconds * 1e6) / 1e3,
      };
      if (outcome === 'denied')
        log.info({ ...fields, message: response.status?.message }, 'admission denied');
      else if (response.patch)
        log.info(
          { ...fields, patch: Buffer.from(response.patch, 'base64').toString() },
          'admission defaults written',
        );
      else log.debug(fields, 'admission allowed');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  const { url, port } = await listenOn(server, options.address, 'https');
  return {
    url,
    port,
    setCertificate: (pair) => server.setSecureContext({ cert: pair.cert, key: pair.key }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
