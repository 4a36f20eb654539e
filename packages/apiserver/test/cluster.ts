import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { type ApiServerOptions, startApiServer } from '../src/index.js';

/** A cluster for a test: a real one through EGW_TEST_KUBECONFIG, or the embedded server. */
export interface TestCluster {
  kc: KubeConfig;
  /** True when the embedded server runs (tests that tune server options check this). */
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * Starts the embedded API server (or uses `EGW_TEST_KUBECONFIG`) and returns a KubeConfig for
 * it. Tests written against this touch the server only through the KubeConfig, so the same
 * tests run against a real cluster.
 */
export async function testCluster(opts: ApiServerOptions = {}): Promise<TestCluster> {
  const kc = new KubeConfig();
  const external = process.env.EGW_TEST_KUBECONFIG;
  if (external !== undefined && external !== '') {
    kc.loadFromString(readFileSync(external, 'utf8'));
    return { kc, embedded: false, close: async () => {} };
  }
  const server = await startApiServer({ port: 0, ...opts });
  kc.loadFromString(server.kubeconfigYaml);
  return { kc, embedded: true, close: () => server.close() };
}

/** A unique, valid namespace name for one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Parses the Status body of a client-node ApiException. */
export function statusOf(e: unknown): {
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { field: string; reason: string; message: string }[] };
} {
  const err = e as { code?: number; body?: unknown };
  const body =
    typeof err.body === 'string'
      ? (JSON.parse(err.body) as Record<string, unknown>)
      : (err.body as Record<string, unknown>);
  return body as never;
}

/** The widgets.example.com CRD used across tests (namespaced, status subresource, printer columns, schema). */
export const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                properties: {
                  size: { type: 'integer', minimum: 1 },
                  color: { type: 'string', enum: ['red', 'blue'], default: 'red' },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  addr: { type: 'string', format: 'ipv4' },
                },
              },
              status: { type: 'object', properties: { phase: { type: 'string' } } },
            },
          },
        },
      },
    ],
  },
};

/** Polls `f` until it returns true or `ms` pass. */
export async function eventually(f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await f()) return;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
