// GatewaySliceSources against the embedded API server: which slices a node receives as the
// gateways listing it change, and that the sources never go empty while a new watch starts.
import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { customResourceDefinitions, type EgressGateway } from '@egressgateway/crds';
import {
  EGRESS_CLUSTER_ENDPOINT_SLICES,
  EGRESS_ENDPOINT_SLICES,
  KubeClient,
  silentLogger,
} from '@egressgateway/kube';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewaySliceSources, gatewaysOfNode } from '../src/slice-sources.js';
import { eventually } from './harness.js';

const gateway = (name: string, nodes: string[]): EgressGateway => ({
  metadata: { name },
  spec: { ippools: {}, nodeSelector: { selector: { matchLabels: {} } } },
  status: { nodeList: nodes.map((n) => ({ name: n })) },
});
const slice = (policy: string, gw: string, ip: string, namespace?: string) => ({
  metadata: {
    name: `${policy}-0`,
    ...(namespace ? { namespace } : {}),
    labels: { 'spidernet.io/policy-name': policy, 'egressgateway.spidernet.io/gateway': gw },
  },
  endpoints: [
    { ns: namespace ?? 'default', pod: `${policy}-pod`, node: 'wk', ipv4: [ip], ipv6: ['fd00::9'] },
  ],
});

describe('GatewaySliceSources', () => {
  let server: ApiServer;
  let client: KubeClient;
  let sources: GatewaySliceSources;
  let changes: number;

  beforeEach(async () => {
    server = await startApiServer({});
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfigYaml);
    client = new KubeClient(kc);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const crd of customResourceDefinitions()) await objects.create(crd as never);
    await client.create(EGRESS_ENDPOINT_SLICES, slice('pa', 'ga', '198.18.1.1', 'default') as never);
    await client.create(EGRESS_CLUSTER_ENDPOINT_SLICES, slice('ca', 'ga', '198.18.1.2') as never);
    await client.create(EGRESS_ENDPOINT_SLICES, slice('pb', 'gb', '198.18.2.1', 'default') as never);
    changes = 0;
    sources = new GatewaySliceSources({
      client,
      nodeName: 'gw1',
      log: silentLogger,
      onChange: () => changes++,
    });
  });
  afterEach(async () => {
    await sources.stop();
    await server.close();
  });

  it('gatewaysOfNode: the gateways whose status lists the node, sorted', () => {
    expect(
      gatewaysOfNode([gateway('gb', ['gw1']), gateway('ga', ['gw1', 'gw2']), gateway('gc', ['gw2'])], 'gw1'),
    ).toEqual(['ga', 'gb']);
  });

  it('a node no gateway lists watches nothing and is synced', () => {
    sources.update([gateway('ga', ['gw2'])]);
    expect(sources.synced()).toBe(true);
    expect(sources.watching).toBe('');
    expect(sources.addresses('default/pa')).toEqual([]);
  });

  it("receives only its gateways' slices, keeps serving the old set while a new one starts, and lets go", async () => {
    sources.update([gateway('ga', ['gw1']), gateway('gb', ['gw2'])]);
    expect(sources.synced()).toBe(false); // listed nothing yet: the agent does not apply
    await eventually('ga watched', () => (sources.synced() ? true : undefined));
    expect(sources.watching).toBe('ga');
    expect(sources.addresses('default/pa')).toEqual(['198.18.1.1', 'fd00::9']);
    expect(sources.addresses('ca')).toEqual(['198.18.1.2', 'fd00::9']);
    expect(sources.addresses('default/pb')).toEqual([]);
    const before = changes;
    // gb now lists the node too: until the new watch has listed, ga's slices keep serving.
    sources.update([gateway('ga', ['gw1']), gateway('gb', ['gw1'])]);
    expect(sources.synced()).toBe(true);
    expect(sources.addresses('default/pa')).toEqual(['198.18.1.1', 'fd00::9']);
    await eventually('ga,gb watched', () => (sources.watching === 'ga,gb' ? true : undefined));
    expect(changes).toBeGreaterThan(before);
    expect(sources.addresses('default/pb')).toEqual(['198.18.2.1', 'fd00::9']);
    // A slice written later reaches the node.
    await client.create(EGRESS_ENDPOINT_SLICES, slice('pc', 'gb', '198.18.2.9', 'default') as never);
    await eventually('pc seen', () => (sources.addresses('default/pc').length > 0 ? true : undefined));
    // No gateway lists the node any more: nothing is watched, nothing is a source.
    sources.update([gateway('ga', ['gw2'])]);
    expect(sources.watching).toBe('');
    expect(sources.addresses('default/pa')).toEqual([]);
    expect(sources.synced()).toBe(true);
  });
});
