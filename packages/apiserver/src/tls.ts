import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A PEM certificate and key. */
export interface CertAndKey {
  cert: string;
  key: string;
}

/** Raised when a self-signed certificate cannot be generated (no `openssl` binary, or it failed). */
export class TlsSetupError extends Error {
  override readonly name = 'TlsSetupError';
  readonly code = 'TlsSetup';
}

/**
 * Generates a self-signed certificate (EC P-256, 1 year) for `hosts` with the `openssl` command
 * line tool; Node has no certificate generator. IP addresses become IP SANs (Go clients such as
 * kubectl ignore the CN), everything else DNS SANs. The certificate is its own CA.
 */
export function generateSelfSigned(hosts: readonly string[]): CertAndKey {
  const dir = mkdtempSync(join(tmpdir(), 'egw-apiserver-tls-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const san = hosts.map((h) => (/^[\d.]+$/.test(h) || h.includes(':') ? `IP:${h}` : `DNS:${h}`)).join(',');
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '365',
        '-subj',
        '/CN=egw-apiserver',
        '-addext',
        `subjectAltName=${san}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,digitalSignature,keyCertSign',
        '-addext',
        'extendedKeyUsage=serverAuth',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (r.error !== undefined)
      throw new TlsSetupError(
        `cannot run openssl to generate a certificate: ${r.error.message}; install openssl or start without tls`,
      );
    if (r.status !== 0)
      throw new TlsSetupError(`openssl failed (exit ${String(r.status)}): ${r.stderr.trim()}`);
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
