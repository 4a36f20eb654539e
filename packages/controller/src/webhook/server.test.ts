import { request } from 'node:https';
import { silentLogger } from '@egressgateway/kube';
import { afterEach, describe, expect, it } from 'vitest';
import { createControllerMetrics } from '../metrics.js';
import type { AdmissionView } from './review.js';
import { startWebhookServer, type WebhookServer } from './server.js';
import { createCa, issueServingCert } from './x509.js';

const YEAR = 365 * 86_400_000;
const view: AdmissionView = { gateways: () => [], policies: () => [], namespaceLabels: () => undefined };

function call(
  server: WebhookServer,
  ca: string,
  path: string,
  body?: string,
  method = 'POST',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const review = (request: object) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });

describe('webhook server', () => {
  let server: WebhookServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers AdmissionReviews over TLS, observes latency, refuses malformed requests', async () => {
    const ca = createCa('test-ca', Date.now(), YEAR);
    const metrics = createControllerMetrics();
    server = await startWebhookServer({
      address: '127.0.0.1:0',
      certificate: issueServingCert(ca, ['localhost', '127.0.0.1'], Date.now(), YEAR),
      view,
      logger: silentLogger,
      metrics,
    });
    const info = review({
      uid: 'u1',
      kind: { group: 'egressgateway.spidernet.io', version: 'v1beta1', kind: 'EgressClusterInfo' },
      operation: 'DELETE',
      name: 'default',
    });
    const denied = await call(server, ca.cert, '/validate', info);
    expect(denied.status).toBe(200);
    expect(JSON.parse(denied.text)).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u1', allowed: false, status: { code: 403, reason: 'Forbidden' } },
    });
    const mutated = await call(server, ca.cert, '/mutate', info);
    expect(JSON.parse(mutated.text).response).toEqual({ uid: 'u1', allowed: true });

    const text = await metrics.registry.getSingleMetricAsString('egw_webhook_request_duration_seconds');
    expect(text).toContain(
      'egw_webhook_request_duration_seconds_count{webhook="validate",kind="EgressClusterInfo",operation="DELETE",outcome="denied"} 1',
    );
    expect(text).toContain(
      'webhook="mutate",kind="EgressClusterInfo",operation="DELETE",outcome="allowed"} 1',
    );

    expect((await call(server, ca.cert, '/validate', 'not json')).status).toBe(400);
    const v1beta1 = await call(
      server,
      ca.cert,
      '/validate',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview' }),
    );
    expect(v1beta1).toMatchObject({ status: 400, text: expect.stringContaining('admissionReviewVersions') });
    expect((await call(server, ca.cert, '/validate', undefined, 'GET')).status).toBe(405);
    expect((await call(server, ca.cert, '/other', '{}')).status).toBe(404);
    expect(await call(server, ca.cert, '/healthz', undefined, 'GET')).toEqual({ status: 200, text: 'ok\n' });
  });

  it('serves a replaced certificate to new connections without a restart', async () => {
    const oldCa = createCa('old-ca', Date.now(), YEAR);
    const newCa = createCa('new-ca', Date.now(), YEAR);
    server = await startWebhookServer({
      address: '127.0.0.1:0',
      certificate: issueServingCert(oldCa, ['localhost'], Date.now(), YEAR),
      view,
      logger: silentLogger,
    });
    expect((await call(server, oldCa.cert, '/healthz', undefined, 'GET')).status).toBe(200);
    await expect(call(server, newCa.cert, '/healthz', undefined, 'GET')).rejects.toThrow();
    server.setCertificate(issueServingCert(newCa, ['localhost'], Date.now(), YEAR));
    expect((await call(server, newCa.cert, '/healthz', undefined, 'GET')).status).toBe(200);
    await expect(call(server, oldCa.cert, '/healthz', undefined, 'GET')).rejects.toThrow();
  });

  it('refuses a body over the limit with 413', async () => {
    const ca = createCa('test-ca', Date.now(), YEAR);
    server = await startWebhookServer({
      address: '127.0.0.1:0',
      certificate: issueServingCert(ca, ['localhost'], Date.now(), YEAR),
      view,
      logger: silentLogger,
      maxBodyBytes: 1024,
    });
    expect(await call(server, ca.cert, '/validate', 'x'.repeat(4096))).toEqual({
      status: 413,
      text: 'request body over 1024 bytes\n',
    });
    expect((await call(server, ca.cert, '/healthz', undefined, 'GET')).status).toBe(200);
  });
});
