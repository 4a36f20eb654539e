import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { webhookConfigurations } from '@egressgateway/controller';
import { describe, expect, it } from 'vitest';
import { chartClusterObjects, renderChart } from './chart.js';
import { WEBHOOK_SERVICE } from './cluster.js';
import { CHART_NAMESPACE } from './in-cluster.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const haveHelm = existsSync(join(repoRoot, 'tools', 'toolchain', 'bin', 'helm'));
if (!haveHelm) console.log('skipping the chart comparison: no helm in tools/toolchain (npm ci installs it)');

describe("the controller's webhook configurations (webhookConfigurations)", () => {
  it.skipIf(!haveHelm)("are the chart's, apart from the labels Helm adds", () => {
    const fromChart = chartClusterObjects(renderChart(repoRoot))
      .map((o) => o.object as { kind: string; metadata: Record<string, unknown> })
      .filter((o) => o.kind.endsWith('WebhookConfiguration'))
      .map((o) => ({ ...o, metadata: { name: o.metadata.name } }));
    expect(fromChart).toHaveLength(2);
    const ours = webhookConfigurations({ namespace: CHART_NAMESPACE });
    const byKind = (l: Array<{ kind: string }>) => [...l].sort((a, b) => a.kind.localeCompare(b.kind));
    expect(byKind(ours)).toEqual(byKind(fromChart));
  });

  it('call the controller Service on its webhook port with failure policy Fail for gateways and policies', () => {
    const [validating, mutating] = webhookConfigurations({ namespace: 'ns1' });
    const hooks = [...(validating?.webhooks ?? []), ...(mutating?.webhooks ?? [])];
    expect(new Set(hooks.map((h) => JSON.stringify(h.clientConfig.service.port)))).toEqual(
      new Set([String(WEBHOOK_SERVICE.port)]),
    );
    expect(hooks.map((h) => [h.name, h.failurePolicy])).toEqual([
      ['validate.egressgateway.spidernet.io', 'Fail'],
      ['validate-clusterinfo.egressgateway.spidernet.io', 'Ignore'],
      ['mutate.egressgateway.spidernet.io', 'Fail'],
    ]);
  });
});
