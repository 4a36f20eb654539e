/**
 * TLS for the webhook without cert-manager. The CA lives in a Secret that every replica shares;
 * each replica signs its own serving certificate with it (never stored), and every replica keeps
 * the `caBundle` of the webhook configurations equal to the Secret's CA bundle.
 *
 * Rotation never breaks a handshake: a new CA joins the bundle beside the old one, and a replica
 * signs with it only once every webhook configuration trusts it; an old CA leaves the bundle only
 * when it has expired. Serving certificates are renewed at two thirds of their life.
 */
import { X509Certificate } from 'node:crypto';
import {
  type Clock,
  isConflict,
  isNotFound,
  type KubeClient,
  type Logger,
  type ResourceRef,
  SECRETS,
  silentLogger,
  systemClock,
  type TimerHandle,
} from '@egressgateway/kube';
import { createCa, issueServingCert, type PemPair, splitPemBundle } from './x509.js';

const admission = (kind: string, plural: string): ResourceRef => ({
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  plural,
  kind,
  namespaced: false,
});
/** The two webhook configuration kinds whose `caBundle` the keeper maintains. */
export const WEBHOOK_CONFIGURATIONS = [
  admission('ValidatingWebhookConfiguration', 'validatingwebhookconfigurations'),
  admission('MutatingWebhookConfiguration', 'mutatingwebhookconfigurations'),
] as const;

/** Keys of the CA Secret. */
const CA_CERT = 'ca.crt';
const CA_KEY = 'ca.key';

interface SecretObj {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  type?: string;
  data?: Record<string, string>;
}

interface WebhookConfigObj {
  metadata?: { name?: string; resourceVersion?: string };
  webhooks?: Array<
    { name?: string; clientConfig?: { caBundle?: string } & Record<string, unknown> } & Record<
      string,
      unknown
    >
  >;
}

/** Options of {@link CertKeeper}. */
export interface CertKeeperOptions {
  readonly client: Pick<KubeClient, 'get' | 'create' | 'patchMerge'>;
  /** Where the CA is kept. */
  readonly secret: { readonly namespace: string; readonly name: string };
  /** Name of the ValidatingWebhookConfiguration and MutatingWebhookConfiguration to keep current (missing ones are skipped). */
  readonly configurationName: string;
  /** Names the serving certificate is valid for (the Service's DNS names; IPs become IP SANs). */
  readonly hosts: readonly string[];
  /** Serving certificate lifetime; the CA lives ten times as long. */
  readonly certValidityMs: number;
  /** Called with every new serving certificate (the server's `setCertificate`). */
  readonly onCertificate: (pair: PemPair) => void;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Observes expiry times (`certificate`: `ca` or `cert`). */
  readonly expiryGauge?: { set(labels: { certificate: string }, value: number): void };
}

/** Retry period while a caBundle update or a write is pending. */
const PENDING_RETRY_MS = 2_000;

const notAfter = (pem: string) => Date.parse(new X509Certificate(pem).validTo);

/** The CA bundle of a Secret: newest first, without expired or unreadable certificates. */
function readBundle(secret: SecretObj | undefined, now: number): { certs: string[]; key?: string } {
  const data = secret?.data ?? {};
  const text = data[CA_CERT] ? Buffer.from(data[CA_CERT], 'base64').toString('utf8') : '';
  const certs = splitPemBundle(text).filter((pem) => {
    try {
      return notAfter(pem) > now;
    } catch {
      return false;
    }
  });
  const key = data[CA_KEY] ? Buffer.from(data[CA_KEY], 'base64').toString('utf8') : undefined;
  return key === undefined ? { certs } : { certs, key };
}

/** Keeps the CA Secret, the webhook configurations' `caBundle` and this replica's serving certificate current. */
export class CertKeeper {
  private readonly clock: Clock;
  private readonly log: Logger;
  private serving: { pair: PemPair; signer: string; notAfter: number } | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly options: CertKeeperOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger).child({ component: 'webhook-certs' });
  }

  /** How often {@link sync} runs: a tenth of the serving certificate's life, at most hourly. */
  get checkPeriodMs(): number {
    return Math.min(3_600_000, Math.max(250, Math.floor(this.options.certValidityMs / 10)));
  }

  /** The serving certificate in use (after the first {@link sync}). */
  get certificate(): PemPair | undefined {
    return this.serving?.pair;
  }

  /** Runs {@link sync} now and then every {@link checkPeriodMs}; resolves after the first sync. */
  start(): Promise<void> {
    const first = this.sync();
    const loop = (settled: boolean) => {
      if (this.stopped) return;
      this.timer = this.clock.setTimeout(
        () => {
          this.sync().then(
            (settled) => loop(settled),
            (err: unknown) => {
              this.log.warn({ err }, 'webhook certificate upkeep failed; retrying');
              loop(false);
            },
          );
        },
        settled ? this.checkPeriodMs : Math.min(this.checkPeriodMs, PENDING_RETRY_MS),
      );
    };
    void first.then(loop, () => loop(false));
    return first.then(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
  }

  /**
   * One round: the CA Secret (created, or a new CA added when the newest has a third of its life
   * left), the configurations' `caBundle`, and this replica's serving certificate, signed by the
   * newest CA (renewed when a third of its life is left, or re-signed once every configuration
   * trusts a new CA). Resolves `true` when every configuration trusts the CA in use, `false`
   * when a caBundle update is still pending (the next round then comes sooner).
   */
  async sync(): Promise<boolean> {
    const now = this.clock.now();
    const ca = await this.ensureCa(now);
    const trusted = await this.ensureBundles(ca.certs);
    const newest = ca.certs[0] as string;
    const newestTrusted = trusted.every((bundle) => bundle.includes(newest.trim()));
    const s = this.serving;
    const renew = !s || s.notAfter - now < this.options.certValidityMs / 3;
    const resign = s !== undefined && s.signer !== newest && newestTrusted;
    if (!renew && !resign) return newestTrusted;
    if (s && !newestTrusted && s.notAfter > now) {
      // Renewal is due but a configuration does not list the new CA yet: keep the current
      // certificate (still valid, and trusted) and try again soon.
      this.log.warn(
        { notAfter: new Date(s.notAfter).toISOString() },
        'serving certificate renewal waits for the caBundle update',
      );
      return false;
    }
    const pair = issueServingCert(
      { cert: newest, key: ca.key },
      this.options.hosts,
      now,
      this.options.certValidityMs,
    );
    this.serving = { pair, signer: newest, notAfter: notAfter(pair.cert) };
    this.options.onCertificate(pair);
    this.options.expiryGauge?.set({ certificate: 'cert' }, this.serving.notAfter / 1000);
    this.options.expiryGauge?.set({ certificate: 'ca' }, notAfter(newest) / 1000);
    this.log.info(
      { hosts: this.options.hosts, notAfter: new Date(this.serving.notAfter).toISOString() },
      'webhook serving certificate issued',
    );
    return newestTrusted;
  }

  private async ensureCa(now: number): Promise<{ certs: string[]; key: string }> {
    const { namespace, name } = this.options.secret;
    const caValidity = 10 * this.options.certValidityMs;
    let secret: SecretObj | undefined;
    try {
      secret = await this.options.client.get<SecretObj>(SECRETS, name, namespace);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const current = readBundle(secret, now);
    const newest = current.certs[0];
    if (newest !== undefined && current.key !== undefined && notAfter(newest) - now > caValidity / 3)
      return { certs: current.certs, key: current.key };
    const ca = createCa('egressgateway-webhook-ca', now, caValidity);
    const certs = [ca.cert, ...current.certs];
    const data = {
      [CA_CERT]: Buffer.from(certs.join('')).toString('base64'),
      [CA_KEY]: Buffer.from(ca.key).toString('base64'),
    };
    try {
      if (secret === undefined) {
        await this.options.client.create(SECRETS, {
          metadata: { name, namespace },
          type: 'Opaque',
          data,
        } as SecretObj);
        this.log.info({ secret: `${namespace}/${name}` }, 'webhook CA created');
      } else {
        await this.options.client.patchMerge(SECRETS, name, namespace, {
          metadata: { resourceVersion: secret.metadata?.resourceVersion },
          data,
        });
        this.log.info(
          { secret: `${namespace}/${name}`, bundle: certs.length },
          'webhook CA rotated: new CA added beside the old',
        );
      }
    } catch (err) {
      // Another replica wrote first: use its CA.
      if (!isConflict(err)) throw err;
      const winner = readBundle(await this.options.client.get<SecretObj>(SECRETS, name, namespace), now);
      if (winner.certs[0] === undefined || winner.key === undefined) throw err;
      return { certs: winner.certs, key: winner.key };
    }
    return { certs, key: ca.key };
  }

  /** Makes every existing configuration's webhooks carry `certs` as caBundle; returns each one's bundle (PEM) after. */
  private async ensureBundles(certs: readonly string[]): Promise<string[]> {
    const want = Buffer.from(certs.join('')).toString('base64');
    const out: string[] = [];
    for (const ref of WEBHOOK_CONFIGURATIONS) {
      let conf: WebhookConfigObj;
      try {
        conf = await this.options.client.get<WebhookConfigObj>(ref, this.options.configurationName);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      const webhooks = conf.webhooks ?? [];
      if (webhooks.every((w) => w.clientConfig?.caBundle === want)) {
        out.push(certs.join(''));
        continue;
      }
      try {
        await this.options.client.patchMerge(ref, this.options.configurationName, undefined, {
          metadata: { resourceVersion: conf.metadata?.resourceVersion },
          webhooks: webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: want } })),
        });
        this.log.info(
          { kind: ref.kind, name: this.options.configurationName, cas: certs.length },
          'webhook caBundle updated',
        );
        out.push(certs.join(''));
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Someone else changed it meanwhile; trust only what it held, and look again next round.
        out.push(
          webhooks.map((w) => Buffer.from(w.clientConfig?.caBundle ?? '', 'base64').toString()).join(''),
        );
      }
    }
    return out;
  }
}
