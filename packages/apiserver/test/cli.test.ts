import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

  it('rejects an invalid port', async () => {
    await expect(runCli(['node', 'egw-apiserver', '--port', 'x'], pino({ level: 'silent' }))).rejects.toThrow(
      /port/,
    );
  });
});
