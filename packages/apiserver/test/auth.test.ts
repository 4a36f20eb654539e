import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTokenFile, type RequestRecord } from '../src/audit.js';
import { type ApiServer, startApiServer } from '../src/server.js';

let server: ApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const call = async (path: string, token: string | undefined, init: RequestInit = {}) => {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (token !== undefined) headers.authorization = token;
  const r = await fetch(`${server?.url}${path}`, { ...init, headers });
  return {
    status: r.status,
    body: (await r.json().catch(() => undefined)) as Record<string, any> | undefined,
  };
};

describe('users, request records and RBAC', () => {
  it('reads the static token file format, groups quoted', () => {
    expect(parseTokenFile('# c\nt1,alice,1,"a,b"\n\nt2,bob,2\n')).toEqual([
      { token: 't1', user: 'alice', uid: '1', groups: ['a', 'b'] },
      { token: 't2', user: 'bob', uid: '2', groups: [] },
    ]);
    expect(() => parseTokenFile('onlytoken\n')).toThrow('token file line 1');
  });

  it('knows each token as its user (scheme in any case), refuses others, and records every request', async () => {
    const records: RequestRecord[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'egw-audit-'));
    server = await startApiServer({
      port: 0,
      tokens: [
        { token: 'agent-token', user: 'system:serviceaccount:egw:agent', groups: ['system:serviceaccounts'] },
      ],
      token: 'admin-token',
      auditLogPath: join(dir, 'audit.jsonl'),
      onRequest: (r) => records.push(r),
    });
    expect((await call('/api/v1/namespaces', 'bearer agent-token')).status).toBe(200);
    expect((await call('/api/v1/namespaces', 'Bearer nope')).status).toBe(401);
    expect((await call('/api/v1/namespaces/default/configmaps/x', 'Bearer admin-token')).status).toBe(404);
    await call('/api/v1/namespaces/default/configmaps', 'Bearer admin-token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'x' } }),
    });
    await call('/apis', 'Bearer agent-token');
    expect(
      records.map(({ user, verb, resource, name, namespace, code }) => ({
        user,
        verb,
        resource,
        name,
        namespace,
        code,
      })),
    ).toEqual([
      {
        user: 'system:serviceaccount:egw:agent',
        verb: 'list',
        resource: 'namespaces',
        name: undefined,
        namespace: undefined,
        code: 200,
      },
      // A refused token is recorded as the anonymous user with its 401.
      {
        user: 'system:anonymous',
        verb: 'get',
        resource: undefined,
        name: undefined,
        namespace: undefined,
        code: 401,
      },
      { user: 'admin', verb: 'get', resource: 'configmaps', name: 'x', namespace: 'default', code: 404 },
      {
        user: 'admin',
        verb: 'create',
        resource: 'configmaps',
        name: undefined,
        namespace: 'default',
        code: 201,
      },
      {
        user: 'system:serviceaccount:egw:agent',
        verb: 'get',
        resource: undefined,
        name: undefined,
        namespace: undefined,
        code: 200,
      },
    ]);
    expect(records[1]?.path).toBe('/api/v1/namespaces');
    expect(records[4]?.path).toBe('/apis');
    // Authenticated users are in system:authenticated, as on a real server.
    expect(records[0]?.groups).toEqual(['system:serviceaccounts', 'system:authenticated']);
    const lines = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(records);
  });

  it('with RBAC: 403 with the real message until a binding allows it', async () => {
    server = await startApiServer({
      port: 0,
      authorization: 'RBAC',
      token: 'admin-token',
      tokens: [{ token: 'agent-token', user: 'system:serviceaccount:default:agent', groups: [] }],
    });
    const denied = await call('/api/v1/namespaces/default/pods', 'Bearer agent-token');
    expect(denied.status).toBe(403);
    expect(denied.body?.message).toBe(
      'pods is forbidden: User "system:serviceaccount:default:agent" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    // Discovery stays open to authenticated users.
    expect((await call('/api', 'Bearer agent-token')).status).toBe(200);
    const post = (path: string, body: object) =>
      call(path, 'Bearer admin-token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', {
      metadata: { name: 'pods' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }],
    });
    await post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      metadata: { name: 'pods' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pods' },
      subjects: [{ kind: 'ServiceAccount', name: 'agent', namespace: 'default' }],
    });
    expect((await call('/api/v1/namespaces/default/pods', 'Bearer agent-token')).status).toBe(200);
    expect((await call('/api/v1/namespaces/kube-system/pods', 'Bearer agent-token')).status).toBe(403);
  });
});

describe('a watch of one object by name', () => {
  it('carries the name, so a resourceNames rule allows watching one Lease and nothing else', async () => {
    const { nameFromFieldSelector } = await import('../src/http-handler.js');
    expect(nameFromFieldSelector('metadata.name=egressgateway')).toBe('egressgateway');
    expect(nameFromFieldSelector('spec.x=1,metadata.name==a')).toBe('a');
    expect(nameFromFieldSelector('metadata.name!=a')).toBeUndefined();
    server = await startApiServer({
      port: 0,
      authorization: 'RBAC',
      token: 'admin-token',
      tokens: [{ token: 'c', user: 'system:serviceaccount:default:c', groups: [] }],
    });
    const post = (path: string, body: object) =>
      call(path, 'Bearer admin-token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', {
      metadata: { name: 'lease' },
      rules: [
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: ['one'],
          verbs: ['list'],
        },
      ],
    });
    await post('/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      metadata: { name: 'lease' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lease' },
      subjects: [{ kind: 'ServiceAccount', name: 'c', namespace: 'default' }],
    });
    const leases = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
    expect((await call(`${leases}?fieldSelector=metadata.name%3Done`, 'Bearer c')).status).toBe(200);
    expect((await call(`${leases}?fieldSelector=metadata.name%3Dtwo`, 'Bearer c')).status).toBe(403);
    expect((await call(leases, 'Bearer c')).status).toBe(403);
  });
});
