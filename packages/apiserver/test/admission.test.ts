/**
 * Admission webhooks called as kube-apiserver calls them: a webhook server in the test (HTTPS,
 * its self-signed certificate as caBundle) answers each AdmissionReview from a function.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../src/index.js';
import { generateSelfSigned } from '../src/tls.js';

type Review = {
  uid: string;
  operation: string;
  name: string;
  namespace?: string;
  subResource?: string;
  object: {
    metadata: { labels?: Record<string, string>; name?: string };
    data?: Record<string, string>;
  } | null;
  oldObject: unknown;
  dryRun: boolean;
  userInfo: { username: string };
  kind: { kind: string };
  options: { kind: string };
};
type Answer = { allowed: boolean; status?: object; patch?: object[] } | 'hang' | 'garbage';

const cert = generateSelfSigned(['hook.hooks.svc', '127.0.0.1']);
const caBundle = Buffer.from(cert.cert).toString('base64');
let calls: Array<{ path: string; review: Review }> = [];
let answer: (path: string, r: Review) => Answer = () => ({ allowed: true });
let hook: Server;
let hookPort = 0;
let api: ApiServer;

beforeAll(async () => {
  hook = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const review = (JSON.parse(body) as { request: Review }).request;
      const path = req.url ?? '';
      calls.push({ path, review });
      const a = answer(path, review);
      if (a === 'hang') return;
      if (a === 'garbage') return res.end('not json');
      const response: Record<string, unknown> = { uid: review.uid, allowed: a.allowed };
      if (a.status) response.status = a.status;
      if (a.patch) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify(a.patch)).toString('base64');
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookPort = (hook.address() as AddressInfo).port;
  api = await startApiServer({ webhookServiceAddresses: { 'hooks/hook:443': `127.0.0.1:${hookPort}` } });
});

afterAll(async () => {
  await api?.close();
  hook?.closeAllConnections();
  await new Promise((r) => hook?.close(r));
});

afterEach(async () => {
  for (const kind of ['validating', 'mutating'])
    await call('DELETE', `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations`);
  calls = [];
  answer = () => ({ allowed: true });
});

async function call(method: string, path: string, body?: unknown, type = 'application/json') {
  const r = await fetch(`${api.url}${path}`, {
    method,
    headers: { 'content-type': type },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

const rule = (resources: string[], operations = ['*'], group = '', scope = '*') => ({
  operations,
  apiGroups: [group],
  apiVersions: ['*'],
  resources,
  scope,
});

async function register(
  kind: 'validating' | 'mutating',
  name: string,
  webhooks: Array<Record<string, unknown>>,
): Promise<void> {
  const r = await call('POST', `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations`, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: kind === 'validating' ? 'ValidatingWebhookConfiguration' : 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: webhooks.map((w) => ({
      clientConfig: { service: { namespace: 'hooks', name: 'hook', path: `/${w.name}` }, caBundle },
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      ...w,
    })),
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
}

const cm = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data: { a: '1' },
});
const CMS = '/api/v1/namespaces/default/configmaps';

describe('validating webhooks', () => {
  it('denies with the webhook name, its message and causes; nothing is stored', async () => {
    await register('validating', 'v1', [
      { name: 'deny.example.com', rules: [rule(['configmaps'], ['CREATE'])] },
    ]);
    answer = () => ({
      allowed: false,
      status: {
        code: 422,
        reason: 'Invalid',
        message: 'ConfigMap "x" is invalid: data.a: must be 2',
        details: { causes: [{ type: 'FieldValueInvalid', field: 'data.a', message: 'must be 2' }] },
      },
    });
    const r = await call('POST', CMS, cm('x'));
    expect(r.status).toBe(422);
    expect(r.body.message).toBe(
      'admission webhook "deny.example.com" denied the request: ConfigMap "x" is invalid: data.a: must be 2',
    );
    expect(r.body.details.causes).toEqual([
      { type: 'FieldValueInvalid', field: 'data.a', message: 'must be 2' },
    ]);
    expect((await call('GET', `${CMS}/x`)).status).toBe(404);
    const review = calls[0]?.review;
    expect(review).toMatchObject({
      operation: 'CREATE',
      name: 'x',
      namespace: 'default',
      dryRun: false,
      kind: { kind: 'ConfigMap' },
      options: { kind: 'CreateOptions' },
      oldObject: null,
      userInfo: { username: 'system:anonymous' },
    });
  });

  it('a denial without a code is 403 Forbidden', async () => {
    await register('validating', 'v1', [{ name: 'no.example.com', rules: [rule(['configmaps'])] }]);
    answer = () => ({ allowed: false, status: { message: 'nope' } });
    const r = await call('POST', CMS, cm('y'));
    expect([r.status, r.body.reason, r.body.message]).toEqual([
      403,
      'Forbidden',
      'admission webhook "no.example.com" denied the request: nope',
    ]);
  });

  it('allows, sees updates with the old object and deletes, not other operations or resources', async () => {
    await register('validating', 'v1', [
      { name: 'watch.example.com', rules: [rule(['configmaps'], ['UPDATE', 'DELETE'])] },
    ]);
    expect((await call('POST', CMS, cm('u'))).status).toBe(201);
    expect(calls).toHaveLength(0); // CREATE is not in the rule
    expect(
      (await call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 's' } })).status,
    ).toBe(201);
    expect(calls).toHaveLength(0);
    const patched = await call('PATCH', `${CMS}/u`, { data: { a: '2' } }, 'application/merge-patch+json');
    expect(patched.status).toBe(200);
    expect(calls[0]?.review).toMatchObject({
      operation: 'UPDATE',
      object: { data: { a: '2' } },
      oldObject: { data: { a: '1' } },
    });
    expect((await call('DELETE', `${CMS}/u`)).status).toBe(200);
    expect(calls[1]?.review).toMatchObject({
      operation: 'DELETE',
      object: null,
      oldObject: { data: { a: '2' } },
    });
    expect(calls[1]?.review.options.kind).toBe('DeleteOptions');
  });

  it('status writes reach a webhook only when its rule names the subresource', async () => {
    const NS = '/api/v1/namespaces';
    await call('POST', NS, { metadata: { name: 'st' } });
    await register('validating', 'v1', [
      { name: 'main.example.com', rules: [rule(['namespaces'], ['UPDATE'])] },
    ]);
    expect(
      (
        await call(
          'PATCH',
          `${NS}/st/status`,
          { status: { phase: 'Active' } },
          'application/merge-patch+json',
        )
      ).status,
    ).toBe(200);
    expect(calls).toHaveLength(0);
    await register('validating', 'v2', [
      { name: 'status.example.com', rules: [rule(['namespaces/status'], ['UPDATE'])] },
    ]);
    expect(
      (
        await call(
          'PATCH',
          `${NS}/st/status`,
          { status: { phase: 'Active' } },
          'application/merge-patch+json',
        )
      ).status,
    ).toBe(200);
    expect(calls.map((c) => [c.path, c.review.subResource])).toEqual([['/status.example.com', 'status']]);
  });

  it('namespaceSelector and objectSelector filter what is sent', async () => {
    await call('POST', '/api/v1/namespaces', { metadata: { name: 'team', labels: { admit: 'yes' } } });
    await register('validating', 'v1', [
      {
        name: 'sel.example.com',
        rules: [rule(['configmaps'], ['CREATE'])],
        namespaceSelector: { matchLabels: { admit: 'yes' } },
        objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] },
      },
    ]);
    await call('POST', CMS, cm('in-default'));
    await call('POST', '/api/v1/namespaces/team/configmaps', cm('skipped', { skip: 'x' }));
    await call('POST', '/api/v1/namespaces/team/configmaps', cm('sent'));
    expect(calls.map((c) => c.review.name)).toEqual(['sent']);
  });

  it('dryRun is passed through and nothing is stored', async () => {
    await register('validating', 'v1', [
      { name: 'dry.example.com', rules: [rule(['configmaps'], ['CREATE'])] },
    ]);
    expect((await call('POST', `${CMS}?dryRun=All`, cm('dry'))).status).toBe(201);
    expect(calls[0]?.review.dryRun).toBe(true);
    expect((await call('GET', `${CMS}/dry`)).status).toBe(404);
  });
});

describe('mutating webhooks', () => {
  it('patch in order of configurations; the validating webhook sees the result, and it is stored', async () => {
    await register('mutating', 'b-second', [
      { name: 'two.example.com', rules: [rule(['configmaps'], ['CREATE'])] },
    ]);
    await register('mutating', 'a-first', [
      { name: 'one.example.com', rules: [rule(['configmaps'], ['CREATE'])] },
    ]);
    await register('validating', 'v', [
      { name: 'check.example.com', rules: [rule(['configmaps'], ['CREATE'])] },
    ]);
    answer = (path, r) => {
      if (path === '/one.example.com')
        return { allowed: true, patch: [{ op: 'add', path: '/data/b', value: 'one' }] };
      if (path === '/two.example.com')
        return {
          allowed: true,
          patch: [{ op: 'replace', path: '/data/b', value: `${r.object?.data?.b}+two` }],
        };
      return { allowed: true };
    };
    const r = await call('POST', CMS, cm('m'));
    expect(r.status).toBe(201);
    expect(r.body.data).toEqual({ a: '1', b: 'one+two' });
    expect(calls.map((c) => c.path)).toEqual(['/one.example.com', '/two.example.com', '/check.example.com']);
    expect(calls[2]?.review.object?.data).toEqual({ a: '1', b: 'one+two' });
    expect((await call('GET', `${CMS}/m`)).body.data).toEqual({ a: '1', b: 'one+two' });
  });

  it('a patch that breaks the object is refused by the server afterwards', async () => {
    await register('mutating', 'm', [{ name: 'bad.example.com', rules: [rule(['configmaps'], ['CREATE'])] }]);
    answer = () => ({
      allowed: true,
      patch: [{ op: 'replace', path: '/metadata/name', value: 'Not_Valid' }],
    });
    const r = await call('POST', CMS, cm('bp'));
    expect(r.status).toBe(422);
  });
});

describe('failed calls', () => {
  it('Fail: 500 with the real server message; Ignore: the request goes on', async () => {
    await register('validating', 'v', [
      {
        name: 'down.example.com',
        rules: [rule(['configmaps'], ['CREATE'])],
        clientConfig: { service: { namespace: 'hooks', name: 'nowhere', path: '/x' }, caBundle },
      },
    ]);
    const r = await call('POST', CMS, cm('f1'));
    expect(r.status).toBe(500);
    expect(r.body.message).toMatch(
      /^Internal error occurred: failed calling webhook "down\.example\.com": failed to call webhook: service "hooks\/nowhere:443" has no address/,
    );
    await call('DELETE', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/v');
    await register('validating', 'v', [
      {
        name: 'down.example.com',
        rules: [rule(['configmaps'], ['CREATE'])],
        clientConfig: { url: 'https://127.0.0.1:1/x', caBundle },
        failurePolicy: 'Ignore',
      },
    ]);
    expect((await call('POST', CMS, cm('f2'))).status).toBe(201);
  });

  it('a connection refused, a wrong CA, a timeout and a bad answer each fail the request', async () => {
    const other = Buffer.from(generateSelfSigned(['hook.hooks.svc']).cert).toString('base64');
    const cases: Array<[Record<string, unknown>, RegExp, Answer?]> = [
      [{ clientConfig: { url: 'https://127.0.0.1:1/x', caBundle } }, /ECONNREFUSED/],
      [
        { clientConfig: { service: { namespace: 'hooks', name: 'hook', path: '/x' }, caBundle: other } },
        /certificate|self.signed/i,
      ],
      [{ timeoutSeconds: 1 }, /context deadline exceeded/, 'hang'],
      [{}, /bad AdmissionReview answer/, 'garbage'],
      [{ admissionReviewVersions: ['v1beta1'] }, /admissionReviewVersions does not include v1/],
    ];
    for (const [extra, message, a] of cases) {
      answer = () => a ?? { allowed: true };
      await register('validating', 'v', [
        { name: 'x.example.com', rules: [rule(['configmaps'], ['CREATE'])], ...extra },
      ]);
      const r = await call('POST', CMS, cm(`c${Math.random().toString(36).slice(2, 8)}`));
      expect(r.status, JSON.stringify(extra)).toBe(500);
      expect(r.body.message).toMatch(message);
      await call('DELETE', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/v');
    }
  }, 20_000);

  it('a dry run is refused by a webhook with side effects', async () => {
    await register('validating', 'v', [
      { name: 'side.example.com', rules: [rule(['configmaps'], ['CREATE'])], sideEffects: 'Some' },
    ]);
    const r = await call('POST', `${CMS}?dryRun=All`, cm('se'));
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('does not support dry run');
  });
});
