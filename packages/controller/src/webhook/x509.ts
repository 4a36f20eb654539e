/**
 * Just enough X.509 to run a webhook without cert-manager or an `openssl` binary (the controller
 * image has neither): a self-signed CA and serving certificates it signs, EC P-256 with
 * ECDSA-SHA256, DER written by hand. Node's crypto makes keys and signatures and parses
 * certificates (`X509Certificate`) but cannot build one.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { ipToBytes, parseIp } from '@egressgateway/netaddr';

/** A certificate and its private key, both PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const seq = (...parts: Uint8Array[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Uint8Array[]) => tlv(0x31, Buffer.concat(parts));
const octets = (b: Uint8Array) => tlv(0x04, b);
const bitString = (b: Uint8Array, unusedBits = 0) => tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), b]));
const explicit = (n: number, content: Uint8Array) => tlv(0xa0 + n, content);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));

function integer(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const body = Buffer.from(bytes.subarray(i));
  return tlv(0x02, (body[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * (arcs[0] ?? 0) + (arcs[1] ?? 0)];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString(); // 2026-12-05T12:00:00.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, ''); // 20261205120000
  const year = Number(iso.slice(0, 4));
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const extension = (id: string, critical: boolean, value: Uint8Array) =>
  critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function subjectAltNames(hosts: readonly string[]): Buffer {
  return seq(
    ...hosts.map((h) => {
      const ip = parseIp(h);
      return ip.ok ? tlv(0x87, ipToBytes(ip.value)) : tlv(0x82, Buffer.from(h, 'ascii'));
    }),
  );
}

const keyId = (spki: Uint8Array) => createHash('sha1').update(spki).digest();

function pem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

interface Issue {
  readonly subject: string;
  readonly publicKey: KeyObject;
  readonly issuer: { name: string; key: KeyObject; spki: Buffer };
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly extensions: readonly Buffer[];
}

function issue(i: Issue): string {
  const spki = i.publicKey.export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive, as RFC 5280 requires
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    name(i.issuer.name),
    seq(time(i.notBeforeMs), time(i.notAfterMs)),
    name(i.subject),
    spki,
    explicit(
      3,
      seq(
        ...i.extensions,
        extension('2.5.29.14', false, octets(keyId(spki))),
        extension('2.5.29.35', false, seq(tlv(0x80, keyId(i.issuer.spki)))),
      ),
    ),
  );
  return pem(seq(tbs, ECDSA_SHA256, bitString(sign('sha256', tbs, i.issuer.key))));
}

function newKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

const keyPem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();

/** Clock skew allowance: certificates start this long before they are made. */
const BACKDATE_MS = 5 * 60_000;

/**
 * A new self-signed CA (basicConstraints CA, may sign certificates) valid from `nowMs` for
 * `validityMs`.
 *
 * @example
 * const ca = createCa('egressgateway-webhook-ca', Date.now(), 10 * 365 * 86_400_000);
 */
export function createCa(commonName: string, nowMs: number, validityMs: number): PemPair {
  const { privateKey, publicKey } = newKey();
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const cert = issue({
    subject: commonName,
    publicKey,
    issuer: { name: commonName, key: privateKey, spki },
    notBeforeMs: nowMs - BACKDATE_MS,
    notAfterMs: nowMs + validityMs,
    extensions: [
      extension('2.5.29.19', true, seq(bool(true))),
      // digitalSignature, keyCertSign, cRLSign
      extension('2.5.29.15', true, bitString(Buffer.from([0x86]), 1)),
    ],
  });
  return { cert, key: keyPem(privateKey) };
}

/**
 * A serving certificate for `hosts` (IP addresses become IP SANs, the rest DNS SANs; Go clients
 * such as kube-apiserver ignore the common name), signed by `ca`.
 */
export function issueServingCert(
  ca: PemPair,
  hosts: readonly string[],
  nowMs: number,
  validityMs: number,
): PemPair {
  if (hosts.length === 0) throw new TypeError('a serving certificate needs at least one host name');
  const caKey = createPrivateKey(ca.key);
  const caCert = new X509Certificate(ca.cert);
  const { privateKey, publicKey } = newKey();
  const cert = issue({
    subject: hosts[0] as string,
    publicKey,
    issuer: {
      name: commonNameOf(caCert),
      key: caKey,
      spki: createPublicKey(caKey).export({ type: 'spki', format: 'der' }),
    },
    notBeforeMs: nowMs - BACKDATE_MS,
    // Never outlive the CA: a client would refuse the chain after the CA expires anyway.
    notAfterMs: Math.min(nowMs + validityMs, Date.parse(caCert.validTo)),
    extensions: [
      extension('2.5.29.19', true, seq()),
      extension('2.5.29.15', true, bitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // serverAuth
      extension('2.5.29.17', false, subjectAltNames(hosts)),
    ],
  });
  return { cert, key: keyPem(privateKey) };
}

function commonNameOf(cert: X509Certificate): string {
  const m = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject);
  return m?.[1] ?? '';
}

/** Splits a PEM bundle into its certificates (anything else in the text is ignored). */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g) ?? [];
}
