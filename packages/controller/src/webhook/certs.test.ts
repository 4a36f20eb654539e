import { X509Certificate } from 'node:crypto';
import { ManualClock } from '@egressgateway/election/testing';
import { KubeApiError, type ResourceRef } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { CertKeeper, WEBHOOK_CONFIGURATIONS } from './certs.js';
import { splitPemBundle } from './x509.js';

type Stored = { metadata: { name: string; namespace?: string; resourceVersion: string } } & Record<
  string,
  unknown
>;

/** The three client calls the keeper makes, over a map, with resourceVersion conflicts as a real server. */
class FakeApi {
  readonly objects = new Map<string, Stored>();
  private rv = 1;
  /** Conflicts to answer on the next patches of a kind (simulates a concurrent writer). */
  readonly conflicts = new Map<string, number>();
  private key = (ref: ResourceRef, name: string, ns?: string) => `${ref.kind}/${ns ?? ''}/${name}`;

  async get<T>(ref: ResourceRef, name: string, ns?: string): Promise<T> {
    await Promise.resolve();
    const o = this.objects.get(this.key(ref, name, ns));
    if (!o) throw new KubeApiError(404, 'NotFound', `${ref.kind} ${name} not found`);
    return structuredClone(o) as T;
  }
  async create<T>(ref: ResourceRef, obj: T): Promise<T> {
    await Promise.resolve();
    const o = obj as unknown as Stored;
    const k = this.key(ref, o.metadata.name, o.metadata.namespace);
    if (this.objects.has(k)) throw new KubeApiError(409, 'AlreadyExists', `${k} exists`);
    this.objects.set(k, {
      ...structuredClone(o),
      metadata: { ...o.metadata, resourceVersion: String(++this.rv) },
    });
    return obj;
  }
  async patchMerge<T>(ref: ResourceRef, name: string, ns: string | undefined, patch: object): Promise<T> {
    await Promise.resolve();
    const k = this.key(ref, name, ns);
    const cur = this.objects.get(k);
    if (!cur) throw new KubeApiError(404, 'NotFound', k);
    const left = this.conflicts.get(ref.kind) ?? 0;
    const p = patch as { metadata?: { resourceVersion?: string } } & Record<string, unknown>;
    if (
      left > 0 ||
      (p.metadata?.resourceVersion && p.metadata.resourceVersion !== cur.metadata.resourceVersion)
    ) {
      this.conflicts.set(ref.kind, Math.max(0, left - 1));
      throw new KubeApiError(409, 'Conflict', 'the object has been modified');
    }
    const { metadata: _m, ...rest } = p;
    const next = {
      ...cur,
      ...structuredClone(rest),
      metadata: { ...cur.metadata, resourceVersion: String(++this.rv) },
    };
    this.objects.set(k, next);
    return next as T;
  }

  addConfigurations(name: string) {
    for (const ref of WEBHOOK_CONFIGURATIONS)
      this.objects.set(this.key(ref, name), {
        metadata: { name, resourceVersion: String(++this.rv) },
        webhooks: [
          {
            name: 'a.egressgateway.spidernet.io',
            clientConfig: { service: { name: 'svc', namespace: 'ns' } },
          },
          {
            name: 'b.egressgateway.spidernet.io',
            clientConfig: { service: { name: 'svc', namespace: 'ns' } },
          },
        ],
      });
  }

  /** Every configuration's webhooks' trusted CAs (each webhook separately). */
  bundles(): string[][] {
    const out: string[][] = [];
    for (const ref of WEBHOOK_CONFIGURATIONS) {
      const conf = this.objects.get(this.key(ref, 'egw')) as unknown as {
        webhooks: Array<{ clientConfig: { caBundle?: string } }>;
      };
      for (const w of conf.webhooks)
        out.push(splitPemBundle(Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString()));
    }
    return out;
  }
}

const HOUR = 3_600_000;

function keeper(api: FakeApi, clock: ManualClock, validityMs: number, seen: string[] = []) {
  return new CertKeeper({
    client: api as never,
    secret: { namespace: 'egw', name: 'egw-ca' },
    configurationName: 'egw',
    hosts: ['egw.egw.svc', '198.51.100.4'],
    certValidityMs: validityMs,
    clock,
    onCertificate: (pair) => seen.push(pair.cert),
  });
}

/** True when `cert` is valid at `now` and signed by a CA, valid at `now`, that every webhook trusts. */
function trustedEverywhere(cert: string, bundles: string[][], now: number): boolean {
  const x = new X509Certificate(cert);
  const valid = (c: X509Certificate) => Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
  if (!valid(x)) return false;
  return bundles.every((bundle) =>
    bundle.some((pem) => {
      const ca = new X509Certificate(pem);
      return valid(ca) && x.checkIssued(ca) && x.verify(ca.publicKey);
    }),
  );
}

describe('CertKeeper', () => {
  it('creates the CA Secret, fills every caBundle and issues a serving certificate for the hosts', async () => {
    const api = new FakeApi();
    api.addConfigurations('egw');
    const clock = new ManualClock(Date.now());
    const seen: string[] = [];
    const k = keeper(api, clock, 365 * 24 * HOUR, seen);
    await k.sync();
    expect(api.objects.get('Secret/egw/egw-ca')?.data).toEqual({
      'ca.crt': expect.any(String),
      'ca.key': expect.any(String),
    });
    expect(seen).toHaveLength(1);
    const cert = new X509Certificate(seen[0] as string);
    expect(cert.subjectAltName).toBe('DNS:egw.egw.svc, IP Address:198.51.100.4');
    expect(trustedEverywhere(seen[0] as string, api.bundles(), clock.now())).toBe(true);
    await k.sync(); // nothing to do: no new certificate, no write
    expect(seen).toHaveLength(1);
  });

  it('lets two replicas racing at start agree on one CA', async () => {
    const api = new FakeApi();
    api.addConfigurations('egw');
    const clock = new ManualClock(Date.now());
    const a: string[] = [];
    const b: string[] = [];
    await Promise.all([keeper(api, clock, HOUR, a).sync(), keeper(api, clock, HOUR, b).sync()]);
    const bundles = api.bundles();
    expect(new Set(bundles.map((x) => x.join(''))).size).toBe(1);
    expect(bundles[0]).toHaveLength(1);
    expect(trustedEverywhere(a[0] as string, bundles, clock.now())).toBe(true);
    expect(trustedEverywhere(b[0] as string, bundles, clock.now())).toBe(true);
  });

  it('rotates serving certificates and CAs so that every replica is trusted at every moment', async () => {
    const api = new FakeApi();
    api.addConfigurations('egw');
    const clock = new ManualClock(Date.now());
    const validity = 60_000; // CA: 600 s
    const replicas = [keeper(api, clock, validity), keeper(api, clock, validity)];
    const issued = new Set<string>();
    const cas = new Set<string>();
    for (let t = 0; t < 2_000_000; t += 2_000) {
      // One replica's round runs into a concurrent edit of the configurations now and then.
      if (t > 0 && t % 46_000 === 0) api.conflicts.set('ValidatingWebhookConfiguration', 1);
      for (const r of replicas) {
        await r.sync();
        const cert = r.certificate?.cert as string;
        issued.add(cert);
        expect(trustedEverywhere(cert, api.bundles(), clock.now())).toBe(true);
      }
      for (const b of api.bundles()) for (const ca of b) cas.add(ca);
      await clock.advance(2_000);
    }
    // Not vacuous: both kinds of rotation happened many times.
    expect(issued.size).toBeGreaterThan(40);
    expect(cas.size).toBeGreaterThanOrEqual(3);
  });

  it('keeps signing with the CA the configurations trust while a new CA is not listed yet', async () => {
    const api = new FakeApi();
    api.addConfigurations('egw');
    const clock = new ManualClock(Date.now());
    const seen: string[] = [];
    const k = keeper(api, clock, 60_000, seen);
    await k.sync();
    // Into the CA's last third (rounds every 6 s renew the serving certificate meanwhile): a new
    // CA is added; the configuration patch is refused this round.
    for (let t = 0; t < 390_000; t += 6_000) {
      await clock.advance(6_000);
      await k.sync();
    }
    expect(api.bundles().every((b) => b.length === 1)).toBe(true);
    await clock.advance(10_000);
    api.conflicts.set('MutatingWebhookConfiguration', 1);
    const before = seen.length;
    await k.sync();
    expect(api.bundles().every((b) => b.length === 2)).toBe(false); // the mutating one still lists the old CA only
    const current = k.certificate?.cert as string;
    expect(trustedEverywhere(current, api.bundles(), clock.now())).toBe(true);
    await k.sync();
    expect(seen.length).toBeGreaterThan(before);
    expect(api.bundles().every((b) => b.length === 2)).toBe(true);
    expect(trustedEverywhere(k.certificate?.cert as string, api.bundles(), clock.now())).toBe(true);
  });
});
