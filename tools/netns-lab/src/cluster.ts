import { sleep } from './exec.js';
import { ApiCallError, type LabApi, paths } from './kube-api.js';
import type { LabPlan } from './plan.js';

/** Name of the lab's EgressGateway. */
export const GATEWAY_NAME = 'egw-lab';
/** Name (in namespace `default`) of the lab's EgressPolicy. */
export const POLICY_NAME = 'probe';

/** The objects the lab registers, as plain data (pure, for tests and for `kubectl` readers). */
export function clusterObjects(plan: LabPlan) {
  const nodes = plan.nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: n.role === 'gateway' ? { egress: 'true' } : {} },
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'netns lab node' }],
      addresses: [
        { type: 'InternalIP', address: n.lan4 },
        { type: 'InternalIP', address: n.lan6 },
        { type: 'Hostname', address: n.name },
      ],
    },
  }));
  const pods = plan.pods.map((p) => ({
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: 'default', labels: { app: 'probe' } },
      spec: { nodeName: p.node, containers: [{ name: 'probe', image: 'netns-lab/probe' }] },
    },
    status: { phase: 'Running', podIP: p.ip4, podIPs: [{ ip: p.ip4 }, { ip: p.ip6 }] },
  }));
  const gateway = {
    apiVersion: 'egressgateway.spidernet.io/v1beta1',
    kind: 'EgressGateway',
    metadata: { name: GATEWAY_NAME },
    spec: {
      ippools: { ipv4: [plan.eip4], ipv6: [plan.eip6], ipv4DefaultEIP: plan.eip4, ipv6DefaultEIP: plan.eip6 },
      nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
    },
  };
  const policy = {
    apiVersion: 'egressgateway.spidernet.io/v1beta1',
    kind: 'EgressPolicy',
    metadata: { name: POLICY_NAME, namespace: 'default' },
    spec: {
      egressGatewayName: GATEWAY_NAME,
      appliedTo: { podSelector: { matchLabels: { app: 'probe' } } },
      destSubnet: [`${plan.ext4}/32`, `${plan.ext6}/128`],
    },
  };
  return { nodes, pods, gateway, policy };
}

async function createIgnoringExists(api: LabApi, path: string, body: unknown): Promise<void> {
  try {
    await api.create(path, body);
  } catch (err) {
    if (!(err instanceof ApiCallError && err.status === 409)) throw err;
  }
}

/**
 * Registers what a real cluster would have: the CRDs, the Nodes (Ready; gateways labelled
 * `egress: "true"`), the Pods with their addresses in the status subresource (as a kubelet
 * writes them), the EgressGateway and the EgressPolicy.
 */
export async function seedCluster(api: LabApi, plan: LabPlan): Promise<void> {
  // Imported late: the demo builds the packages (crds included) before it gets here.
  const { customResourceDefinitions } = await import('@egressgateway/crds');
  for (const crd of customResourceDefinitions()) await createIgnoringExists(api, paths.crds, crd);
  // A CRD is served at once by the embedded server; a real one may take a moment.
  for (let i = 0; i < 50; i++) {
    try {
      await api.get(paths.gateways);
      break;
    } catch {
      await sleep(100);
    }
  }
  const o = clusterObjects(plan);
  for (const n of o.nodes) {
    await createIgnoringExists(api, paths.nodes, n);
    await api.mergePatch(`${paths.node(n.metadata.name)}/status`, { status: n.status });
  }
  for (const p of o.pods) {
    await createIgnoringExists(api, paths.pods('default'), p.body);
    await api.mergePatch(paths.podStatus('default', p.body.metadata.name), { status: p.status });
  }
  await createIgnoringExists(api, paths.gateways, o.gateway);
  await createIgnoringExists(api, paths.policies('default'), o.policy);
}
