import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartClusterObjects, chartPod, podmanCpus, podmanMemory, renderChart } from './chart.js';

const repoRoot = join(import.meta.dirname, '..', '..', '..');
const haveHelm = existsSync(join(repoRoot, 'tools', 'toolchain', 'bin', 'helm'));
if (!haveHelm)
  console.log('skipping the rendered chart checks: no helm in tools/toolchain (npm ci installs it)');

describe('what the lab takes from the rendered chart', () => {
  it.skipIf(!haveHelm)(
    "the agent's env and limits, with gateway peers as agent.peers.enabled says, and the key Secret only then",
    () => {
      const on = renderChart(repoRoot, { 'agent.peers.enabled': 'true' });
      const agent = chartPod(on, 'agent');
      expect(agent.env).toMatchObject({ EGW_PEERS: 'true', EGW_PEER_PORT: '7790' });
      expect(agent.env.EGW_PEER_KEY_SECRET).toBe('egressgateway-peer-key');
      expect(agent.fieldEnv).toEqual({ NODE_NAME: 'spec.nodeName', POD_NAMESPACE: 'metadata.namespace' });
      expect(agent.limits).toEqual({ cpu: '500m', memory: '192Mi' });
      const secrets = chartClusterObjects(on).filter((o) => o.object.kind === 'Secret');
      expect(secrets.map((o) => o.path)).toEqual(['/api/v1/namespaces/egressgateway/secrets']);
      const key = (secrets[0]?.object as { data?: { k1?: string } } | undefined)?.data?.k1 ?? '';
      expect(Buffer.from(key, 'base64').length).toBeGreaterThanOrEqual(32);

      const off = renderChart(repoRoot, { 'agent.peers.enabled': 'false' });
      expect(chartPod(off, 'agent').env.EGW_PEERS).toBe('false');
      expect(chartPod(off, 'agent').env.EGW_PEER_KEY_SECRET).toBeUndefined();
      expect(chartClusterObjects(off).filter((o) => o.object.kind === 'Secret')).toEqual([]);
    },
  );

  it.skipIf(!haveHelm)("the controller's env from the downward API and its limits", () => {
    const c = chartPod(renderChart(repoRoot), 'controller');
    expect(c.fieldEnv).toEqual({ POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace' });
    expect(c.env).toEqual({ CONFIGMAP_PATH: '/tmp/config-map/conf.yml' });
    expect(c.limits).toEqual({ cpu: '1', memory: '256Mi' });
  });

  it('refuses a chart without the workload, and env from a source the lab cannot give', () => {
    expect(() => chartPod('kind: ConfigMap\n', 'agent')).toThrow(/no DaemonSet egressgateway-agent/);
    const fromSecret = [
      'kind: Deployment',
      'metadata: {name: egressgateway-controller}',
      'spec: {template: {spec: {containers: [{name: controller, env: [{name: K, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]}}}',
    ].join('\n');
    expect(() => chartPod(fromSecret, 'controller')).toThrow(/sets K from a source the lab cannot give/);
  });

  it('converts Kubernetes quantities to podman limits', () => {
    expect(podmanCpus('500m')).toBe('0.5');
    expect(podmanCpus('1')).toBe('1');
    expect(podmanCpus('1.5')).toBe('1.5');
    expect(podmanMemory('192Mi')).toBe('192m');
    expect(podmanMemory('1Gi')).toBe('1g');
    expect(podmanMemory('512Ki')).toBe('512k');
    expect(() => podmanCpus('half')).toThrow(/CPU limit "half"/);
    expect(() => podmanMemory('200M')).toThrow(/memory limit "200M" is not in Ki, Mi or Gi/);
  });
});
