import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';

describe('egw-apiserver CLI', () => {
  it('starts with --port/--host/--data-dir/--kubeconfig-out and the written kubeconfig works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-cli-'));
    const out = join(dir, 'kubeconfig');
    const server = await runCli(
      [
        'node',
        'egw-apiserver',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--data-dir',
        join(dir, 'data'),
        '--kubeconfig-out',
        out,
      ],
      pino({ level: 'silent' }),
    );
    try {
      const kc = new KubeConfig();
      kc.loadFromString(readFileSync(out, 'utf8'));
      await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'from-cli' } } });
      expect(readFileSync(join(dir, 'data', 'objects.jsonl'), 'utf8')).toContain('"from-cli"');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the admin token and the static token file from files, records requests, enforces RBAC', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egw-cli-'));
    writeFileSync(join(dir, 'token'), 'admin-secret\n', { mode: 0o600 });
    writeFileSync(join(dir, 'tokens.csv'), 'agent-secret,system:serviceaccount:egw:agent,u1,"g1,g2"\n');
    const audit = join(dir, 'audit.jsonl');
    const server = await runCli(
      [
        'node',
        'egw-apiserver',
        '--port',
        '0',
        '--token-file',
        join(dir, 'token'),
        '--token-auth-file',
        join(dir, 'tokens.csv'),
        '--audit-log-path',
        audit,
        '--authorization-mode',
        'RBAC',
      ],
      pino({ level: 'silent' }),
    );
    const call = (token: string) =>
      fetch(`${server.url}/api/v1/namespaces/default/configmaps`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.status);
    try {
      expect(await call('admin-secret')).toBe(200);
      expect(await call('agent-secret')).toBe(403);
      expect(await call('nope')).toBe(401);
    } finally {
      await server.close();
    }
    const lines = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.user, l.verb, l.resource, l.code])).toEqual([
      ['admin', 'list', 'configmaps', 200],
      ['system:serviceaccount:egw:agent', 'list', 'configmaps', 403],
      ['system:anonymous', 'get', undefined, 401],
    ]);
    expect(lines[1].groups).toEqual(['g1', 'g2', 'system:authenticated']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown --authorization-mode', async () => {
    await expect(
      runCli(
        ['node', 'egw-apiserver', '--port', '0', '--authorization-mode', 'Webhook'],
        pino({ level: 'silent' }),
      ),
    ).rejects.toThrow('--authorization-mode must be AlwaysAllow or RBAC, got "Webhook"');
  });

  it('rejects an invalid port', async () => {
    await expect(runCli(['node', 'egw-apiserver', '--port', 'x'], pino({ level: 'silent' }))).rejects.toThrow(
      /port/,
    );
  });
});
