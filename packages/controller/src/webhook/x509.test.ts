import { spawnSync } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCa, issueServingCert, splitPemBundle } from './x509.js';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
const DAY = 86_400_000;
const ca = createCa('egw-test-ca', NOW, 3650 * DAY);
const leaf = issueServingCert(ca, ['egressgateway.egw.svc', '198.51.100.7', 'fd00::7'], NOW, 365 * DAY);

describe('x509', () => {
  it('makes a CA that signs a serving certificate with the given names', () => {
    const c = new X509Certificate(ca.cert);
    const l = new X509Certificate(leaf.cert);
    expect(c.ca).toBe(true);
    expect(l.ca).toBe(false);
    expect(c.verify(c.publicKey)).toBe(true);
    expect(l.verify(createPublicKey(ca.key))).toBe(true);
    expect(l.checkIssued(c)).toBe(true);
    expect(l.checkHost('egressgateway.egw.svc')).toBe('egressgateway.egw.svc');
    expect(l.checkHost('other.egw.svc')).toBeUndefined();
    expect(l.checkIP('198.51.100.7')).toBe('198.51.100.7');
    expect(l.checkIP('fd00::7')).toBe('fd00::7');
    expect(Date.parse(l.validTo)).toBe(NOW + 365 * DAY);
    expect(Date.parse(l.validFrom)).toBeLessThan(NOW);
    expect(l.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  it('never issues a certificate that outlives its CA', () => {
    const shortCa = createCa('short', NOW, 10 * DAY);
    const l = new X509Certificate(issueServingCert(shortCa, ['a.b.svc'], NOW, 365 * DAY).cert);
    expect(Date.parse(l.validTo)).toBe(NOW + 10 * DAY);
  });

  it('splits a bundle', () => {
    expect(splitPemBundle(`${ca.cert}${leaf.cert}`)).toEqual([ca.cert, leaf.cert]);
  });

  const dir = mkdtempSync(join(tmpdir(), 'egw-x509-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes openssl verify with serverAuth purpose and host checks', (ctx) => {
    const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log('skipped: no openssl binary to cross-check with');
      ctx.skip();
    }
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'leaf.pem'), leaf.cert);
    const r = spawnSync(
      'openssl',
      [
        'verify',
        '-attime',
        String(NOW / 1000 + 60),
        '-purpose',
        'sslserver',
        '-verify_hostname',
        'egressgateway.egw.svc',
        '-CAfile',
        join(dir, 'ca.pem'),
        join(dir, 'leaf.pem'),
      ],
      { encoding: 'utf8' },
    );
    expect(`${r.stdout}${r.stderr}`).toContain(': OK');
    expect(r.status).toBe(0);
  });

  it('serves TLS that a client trusting only the CA accepts', async () => {
    // Issued now: the TLS stack checks validity against the real clock.
    const liveCa = createCa('live', Date.now(), DAY);
    const live = issueServingCert(liveCa, ['127.0.0.1'], Date.now(), DAY);
    const server = createServer({ cert: live.cert, key: live.key }, (_q, s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const body = await new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port, ca: liveCa.cert, path: '/' }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        })
          .on('error', reject)
          .end();
      });
      expect(body).toBe('ok');
      const refused = await new Promise<string>((resolve) => {
        request({ host: '127.0.0.1', port, ca: ca.cert, path: '/' }, () => resolve('accepted'))
          .on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message))
          .end();
      });
      expect(refused).not.toBe('accepted');
    } finally {
      server.close();
    }
  });
});
