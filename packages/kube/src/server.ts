import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Health server settings. */
export interface HealthServerOptions {
  /** `host:port`, e.g. `0.0.0.0:8080`; port 0 picks a free one. */
  address: string;
  /** Liveness: false answers 500 on /healthz and /livez. Default always live. */
  live?: () => boolean;
  /** Readiness (e.g. informers synced): false answers 503 on /readyz. */
  ready: () => boolean;
  /** Metrics served as Prometheus text on /metrics. */
  registry: Registry;
}

/** A running health server. */
export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Splits `host:port` (IPv6 hosts in brackets). */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new TypeError(`"${address}" is not host:port (e.g. 0.0.0.0:8080 or [::]:8080)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/**
 * Starts `server` listening on `address` (`host:port`, port 0 picks one) and returns its URL
 * with `scheme` (`http`, `https`) and the port it got.
 */
export async function listenOn(
  server: Server | import('node:https').Server,
  address: string,
  scheme: 'http' | 'https',
): Promise<{ url: string; port: number }> {
  const { host, port } = parseAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return { url: `${scheme}://${h}:${a.port}`, port: a.port };
}

/** Serves `/healthz`, `/livez`, `/readyz` and `/metrics`. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  parseAddress(options.address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    if (path === '/healthz' || path === '/livez') {
      const live = options.live?.() ?? true;
      text(live ? 200 : 500, live ? 'ok\n' : 'not live\n');
    } else if (path === '/readyz') {
      const ready = options.ready();
      text(ready ? 200 : 503, ready ? 'ok\n' : 'not ready\n');
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(body);
        },
        (err: unknown) => text(500, `metrics failed: ${String(err)}\n`),
      );
    } else text(404, 'not found\n');
  });
  const { url } = await listenOn(server, options.address, 'http');
  return {
    url,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
