import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { customResourceDefinitions } from '@egressgateway/crds';
import { KubeClient, resolveConfig } from '@egressgateway/kube';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { CONTROLLER_OPTIONS, main, type RunningController } from '../src/index.js';

/** The chart's namespace and webhook Service (templates/webhook.yaml: port 5822). */
export const NS = 'egressgateway';
export const SERVICE = 'egressgateway-controller';

/** A free TCP port on 127.0.0.1 (for a controller's webhook). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** An embedded API server with the CRDs and the chart's namespace, and a kubeconfig file for kubectl. */
export interface WebhookCluster {
  server: ApiServer;
  kubeconfig: string;
  client: KubeClient;
  objects: KubernetesObjectApi;
  /** A temporary directory holding `kubeconfig` (the caller removes it). */
  dir: string;
}

/**
 * Starts an API server whose webhook Service `NS/SERVICE:5822` is `127.0.0.1:webhookPort`, with the
 * CRDs and the namespace `NS` created. No webhook configuration is installed: that is each test's
 * choice (failure policy, or none).
 */
export async function startWebhookCluster(webhookPort: number, dirPrefix: string): Promise<WebhookCluster> {
  const server = await startApiServer({
    webhookServiceAddresses: { [`${NS}/${SERVICE}:5822`]: `127.0.0.1:${webhookPort}` },
  });
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfigYaml);
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const crd of customResourceDefinitions()) await objects.create(crd as never);
  await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  return { server, kubeconfig, client: new KubeClient(kc), objects, dir };
}

/**
 * Runs a controller against `server` with its webhook on `127.0.0.1:port` (settings `extra` on top
 * of the test defaults) and waits up to 10 s for the webhook to serve.
 */
export async function startWebhookController(
  server: ApiServer,
  port: number,
  extra: Record<string, unknown> = {},
): Promise<RunningController> {
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfigYaml);
  const settings = resolveConfig(CONTROLLER_OPTIONS, {
    file: {
      webhookAddress: `127.0.0.1:${port}`,
      podNamespace: NS,
      healthAddress: '127.0.0.1:0',
      logLevel: 'error',
      identity: `ctl-${port}`,
      ...extra,
    },
  });
  const running = await main({ settings, kubeConfig: kc });
  for (let i = 0; i < 200 && running.webhookUrl() === undefined; i++)
    await new Promise((r) => setTimeout(r, 50));
  if (running.webhookUrl() === undefined) throw new Error('the webhook did not start in 10 s');
  return running;
}
