import type { EgressClusterPolicy, EgressGateway, EgressPolicy, EnabledFamilies } from '@egressgateway/crds';
import type { Clock, Informer, KubeClient, Logger } from '@egressgateway/kube';
import type { ControllerMetrics } from '../metrics.js';
import type { Obj } from '../objects.js';
import { CertKeeper } from './certs.js';
import type { AdmissionView } from './review.js';
import { startWebhookServer } from './server.js';

/** The informers the admission decisions read (the controller's own, warm on every replica). */
export interface AdmissionCaches {
  readonly gateways: Informer<EgressGateway & Obj>;
  readonly policies: Informer<EgressPolicy & Obj>;
  readonly clusterPolicies: Informer<EgressClusterPolicy & Obj>;
  readonly namespaces: Informer<Obj>;
}

/** Options of {@link startAdmissionWebhook}. */
export interface AdmissionWebhookOptions {
  /** `host:port` to serve HTTPS on. */
  readonly address: string;
  readonly client: KubeClient;
  readonly caches: AdmissionCaches;
  /** The families egress uses (the tunnel ranges that are set): pools and EIPs of another are refused. */
  readonly families: EnabledFamilies;
  /** The CA Secret shared by the replicas. */
  readonly secret: { readonly namespace: string; readonly name: string };
  /** Name of the Validating/MutatingWebhookConfiguration whose caBundle is kept current. */
  readonly configurationName: string;
  /** DNS names and IPs of the serving certificate. */
  readonly hosts: readonly string[];
  readonly certValidityMs: number;
  readonly logger: Logger;
  readonly metrics?: ControllerMetrics;
  readonly clock?: Clock;
}

/** A running admission webhook. */
export interface AdmissionWebhook {
  readonly url: string;
  close(): Promise<void>;
}

/** The decisions' view of the caches. */
export function admissionView(c: AdmissionCaches, families?: EnabledFamilies): AdmissionView {
  return {
    ...(families ? { families } : {}),
    gateways: () => c.gateways.list(),
    policies: () => [...c.policies.list(), ...(c.clusterPolicies.list() as EgressPolicy[])],
    namespaceLabels: (ns) => c.namespaces.get(ns)?.metadata?.labels,
  };
}

/**
 * Starts the webhook on this replica: certificate upkeep first (the CA Secret, the
 * configurations' caBundle, a serving certificate), then the HTTPS server, which takes every
 * renewed certificate without a restart. Start it once the caches have synced: before that, a
 * policy naming an existing gateway would be refused.
 */
export async function startAdmissionWebhook(o: AdmissionWebhookOptions): Promise<AdmissionWebhook> {
  let server: Awaited<ReturnType<typeof startWebhookServer>> | undefined;
  const keeper = new CertKeeper({
    client: o.client,
    secret: o.secret,
    configurationName: o.configurationName,
    hosts: o.hosts,
    certValidityMs: o.certValidityMs,
    onCertificate: (pair) => server?.setCertificate(pair),
    logger: o.logger,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.metrics ? { expiryGauge: o.metrics.webhookCertExpiry } : {}),
  });
  try {
    await keeper.start();
  } catch (err) {
    keeper.stop(); // the caller retries with a new keeper; this one must not keep running
    throw err;
  }
  const certificate = keeper.certificate;
  if (!certificate) {
    keeper.stop();
    throw new Error('webhook: no serving certificate after the first upkeep round');
  }
  try {
    server = await startWebhookServer({
      address: o.address,
      certificate,
      view: admissionView(o.caches, o.families),
      logger: o.logger,
      ...(o.metrics ? { metrics: o.metrics } : {}),
    });
  } catch (err) {
    keeper.stop();
    throw err;
  }
  const running = server;
  // A renewal between the first round and the listen is picked up here.
  if (keeper.certificate && keeper.certificate !== certificate) running.setCertificate(keeper.certificate);
  o.logger.info(
    { url: running.url, hosts: o.hosts, configuration: o.configurationName },
    'admission webhook serving',
  );
  return {
    url: running.url,
    close: async () => {
      keeper.stop();
      await running.close();
    },
  };
}
