// A small stand-in for the Kubernetes API server's Lease endpoints, answering with the real
// server's shapes (Status bodies, 201 on create, 409 Conflict/AlreadyExists, 404 NotFound,
// newline-delimited watch with an initial ADDED replay) until the embedded API server exists.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

interface Watcher {
  readonly ns: string;
  readonly name: string | undefined;
  readonly res: ServerResponse;
}

export type Fault = { kind: 'status'; code: number } | { kind: 'hang' };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Json | undefined;
}

const PREFIX = '/apis/coordination.k8s.io/v1/namespaces/';
const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

function status(code: number, reason: string, message: string, name?: string): Json {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(name !== undefined ? { details: { name, group: 'coordination.k8s.io', kind: 'leases' } } : {}),
    code,
  };
}

export class FakeLeaseServer {
  readonly requests: RecordedRequest[] = [];
  /** Faults consumed by the next non-watch requests, in order. */
  readonly faults: Fault[] = [];
  /** Requests that were hung and later aborted by the client. */
  abortedHangs = 0;
  #leases = new Map<string, Json>();
  #rv = 100;
  #watchers = new Set<Watcher>();
  #hung = new Set<ServerResponse>();
  #server = createServer((req, res) => void this.#handle(req, res));
  url = '';

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** A kubeconfig (as client-node `loadFromOptions` input) pointing at this server. */
  kubeConfigOptions() {
    return {
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'test' }],
      currentContext: 'fake',
    };
  }

  /** Closes every open watch stream (as an API server restart or a load balancer would). */
  dropWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  watcherCount(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    this.dropWatches();
    for (const res of this.#hung) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Json | undefined;
    try {
      body = raw === '' ? undefined : (JSON.parse(raw) as Json);
    } catch {
      this.#send(res, 400, status(400, 'BadRequest', 'invalid JSON'));
      return;
    }
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname + url.search, body });
    if (!url.pathname.startsWith(PREFIX)) {
      this.#send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const [ns, resource, name, extra] = url.pathname.slice(PREFIX.length).split('/');
    if (ns === undefined || resource !== 'leases' || extra !== undefined) {
      this.#send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    if (method === 'GET' && name === undefined && url.searchParams.get('watch') === 'true') {
      this.#watch(ns, url, res);
      return;
    }
    const fault = this.faults.shift();
    if (fault?.kind === 'hang') {
      this.#hung.add(res);
      res.on('close', () => {
        if (this.#hung.delete(res)) this.abortedHangs++;
      });
      return;
    }
    if (fault?.kind === 'status') {
      const reason =
        fault.code === 429 ? 'TooManyRequests' : fault.code === 503 ? 'ServiceUnavailable' : 'InternalError';
      this.#send(res, fault.code, status(fault.code, reason, `injected ${fault.code}`));
      return;
    }
    const key = `${ns}/${name ?? ''}`;
    if (method === 'GET' && name !== undefined) {
      const lease = this.#leases.get(key);
      if (lease === undefined)
        this.#send(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`, name));
      else this.#send(res, 200, lease);
      return;
    }
    if (method === 'POST' && name === undefined) {
      const meta = (body?.metadata ?? {}) as Json;
      const leaseName = String(meta.name ?? '');
      if (this.#invalidTimes(res, body, leaseName)) return;
      if (this.#leases.has(`${ns}/${leaseName}`)) {
        this.#send(
          res,
          409,
          status(409, 'AlreadyExists', `leases.coordination.k8s.io "${leaseName}" already exists`, leaseName),
        );
        return;
      }
      const stored = this.#store(ns, leaseName, body ?? {}, undefined);
      this.#send(res, 201, stored);
      this.#notify('ADDED', ns, stored);
      return;
    }
    if (method === 'PUT' && name !== undefined) {
      const current = this.#leases.get(key);
      if (current === undefined) {
        this.#send(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`, name));
        return;
      }
      if (this.#invalidTimes(res, body, name)) return;
      const rv = ((body?.metadata ?? {}) as Json).resourceVersion;
      const currentMeta = current.metadata as Json;
      if (rv !== undefined && rv !== currentMeta.resourceVersion) {
        this.#send(
          res,
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            name,
          ),
        );
        return;
      }
      const stored = this.#store(ns, name, body ?? {}, currentMeta);
      this.#send(res, 200, stored);
      this.#notify('MODIFIED', ns, stored);
      return;
    }
    if (method === 'DELETE' && name !== undefined) {
      const current = this.#leases.get(key);
      if (current === undefined) {
        this.#send(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`, name));
        return;
      }
      this.#leases.delete(key);
      this.#rv++;
      const deleted = {
        ...current,
        metadata: { ...(current.metadata as Json), resourceVersion: String(this.#rv) },
      };
      this.#send(res, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, group: 'coordination.k8s.io', kind: 'leases' },
      });
      this.#notify('DELETED', ns, deleted);
      return;
    }
    this.#send(
      res,
      405,
      status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'),
    );
  }

  // A real API server rejects MicroTime values that lack six fractional digits.
  #invalidTimes(res: ServerResponse, body: Json | undefined, name: string): boolean {
    const spec = (body?.spec ?? {}) as Json;
    for (const field of ['acquireTime', 'renewTime']) {
      const value = spec[field];
      if (value !== undefined && (typeof value !== 'string' || !MICRO.test(value))) {
        this.#send(
          res,
          400,
          status(
            400,
            'BadRequest',
            `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`,
            name,
          ),
        );
        return true;
      }
    }
    return false;
  }

  #store(ns: string, name: string, body: Json, previous: Json | undefined): Json {
    this.#rv++;
    const meta = (body.metadata ?? {}) as Json;
    const stored: Json = {
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: {
        ...meta,
        name,
        namespace: ns,
        uid: previous?.uid ?? `uid-${this.#rv}`,
        creationTimestamp: previous?.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        resourceVersion: String(this.#rv),
      },
      spec: body.spec ?? {},
    };
    this.#leases.set(`${ns}/${name}`, stored);
    return stored;
  }

  #watch(ns: string, url: URL, res: ServerResponse): void {
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const match = /^metadata\.name=(.+)$/.exec(selector);
    if (selector !== '' && match === null) {
      this.#send(res, 400, status(400, 'BadRequest', `field label not supported: ${selector.split('=')[0]}`));
      return;
    }
    const watcher: Watcher = { ns, name: match?.[1], res };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // Without a resourceVersion, a watch first replays what exists as ADDED.
    for (const [key, lease] of this.#leases) {
      if (key.startsWith(`${ns}/`) && (watcher.name === undefined || key === `${ns}/${watcher.name}`)) {
        res.write(`${JSON.stringify({ type: 'ADDED', object: lease })}\n`);
      }
    }
    this.#watchers.add(watcher);
    res.on('close', () => this.#watchers.delete(watcher));
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    if (timeout > 0) {
      const t = setTimeout(() => res.end(), timeout * 1000);
      res.on('close', () => clearTimeout(t));
    }
  }

  #notify(type: string, ns: string, lease: Json): void {
    const name = (lease.metadata as Json).name;
    for (const w of this.#watchers) {
      if (w.ns === ns && (w.name === undefined || w.name === name)) {
        w.res.write(`${JSON.stringify({ type, object: lease })}\n`);
      }
    }
  }

  #send(res: ServerResponse, code: number, body: Json): void {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
