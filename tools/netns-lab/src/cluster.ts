import { sleep } from './exec.js';
import { ApiCallError, type LabApi, paths } from './kube-api.js';
import type { LabPlan } from './plan.js';

/** Name of the lab's EgressGateway. */
export const GATEWAY_NAME = 'egw-lab';
/** Name (in namespace `default`) of the lab's EgressPolicy. */
export const POLICY_NAME = 'probe';

/** What the lab's EgressPolicy steers. */
export interface PolicyShape {
  /**
   * `true` (default): only the external server (`destSubnet` = its addresses). `false`: no
   * `destSubnet`, so everything but the cluster's own CIDRs (EgressClusterInfo) leaves by the EIP.
   */
  destSubnet?: boolean;
  /**
   * `false`: an IPv4-only cluster (upstream's `enableIPv6: false`): the gateway has no IPv6 pool
   * and the policy names only the server's IPv4 address. Default `true` (dual stack).
   */
  ipv6?: boolean;
  /** `false`: an IPv6-only cluster (upstream's `enableIPv4: false`), the same the other way round. */
  ipv4?: boolean;
}

/** The gateway's pools for a policy shape: each family unless turned off. */
function poolsOf(plan: LabPlan, shape: PolicyShape) {
  return {
    ...(shape.ipv4 === false ? {} : { ipv4: [plan.eip4], ipv4DefaultEIP: plan.eip4 }),
    ...(shape.ipv6 === false ? {} : { ipv6: [plan.eip6], ipv6DefaultEIP: plan.eip6 }),
  };
}

/** The pod CIDRs of a node (`spec.podCIDRs`, as a kubelet's node IPAM sets them): its pods' subnets. */
export function podCidrsOf(plan: LabPlan, node: string): string[] {
  const pods = plan.pods.filter((p) => p.node === node);
  const first = pods[0];
  if (!first) return [];
  const net = (ip: string, prefix: number, v6: boolean) =>
    v6
      ? `${ip.slice(0, ip.lastIndexOf(':') + 1)}/${prefix}`
      : `${ip.split('.').slice(0, 3).join('.')}.0/${prefix}`;
  return [net(first.ip4, first.prefix4, false), net(first.ip6, first.prefix6, true)];
}

/** The objects the lab registers, as plain data (pure, for tests and for `kubectl` readers). */
export function clusterObjects(plan: LabPlan, shape: PolicyShape = {}) {
  const nodes = plan.nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: n.role === 'gateway' ? { egress: 'true' } : {} },
    spec: { podCIDRs: podCidrsOf(plan, n.name) },
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
      ippools: poolsOf(plan, shape),
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
      ...(shape.destSubnet === false
        ? {}
        : {
            destSubnet: [
              ...(shape.ipv4 === false ? [] : [`${plan.ext4}/32`]),
              ...(shape.ipv6 === false ? [] : [`${plan.ext6}/128`]),
            ],
          }),
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

/** The Service the API server calls the controllers' admission webhook through (port 5822, as the chart). */
export const WEBHOOK_SERVICE = { name: 'egressgateway-controller', port: 5822 } as const;
/** Name of the lab's webhook configurations (the chart's: the release name). */
export const WEBHOOK_CONFIGURATION = 'egressgateway';

/**
 * Creates the EgressGateway and the EgressPolicy through the admission webhook (failure policy
 * Fail): until a controller replica serves it, the API server answers 500 and this retries.
 */
export async function seedEgressObjects(
  api: LabApi,
  plan: LabPlan,
  shape: PolicyShape = {},
  timeoutMs = 60_000,
): Promise<void> {
  const o = clusterObjects(plan, shape);
  const deadline = Date.now() + timeoutMs;
  for (const [path, body] of [
    [paths.gateways, o.gateway],
    [paths.policies('default'), o.policy],
  ] as const) {
    for (;;) {
      try {
        await createIgnoringExists(api, path, body);
        break;
      } catch (err) {
        const waiting =
          err instanceof ApiCallError && err.status >= 500 && err.message.includes('failed calling webhook');
        if (!waiting || Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }
}

/**
 * Registers what a real cluster would have before the apps start: the CRDs, the Nodes (Ready;
 * gateways labelled `egress: "true"`) and the Pods with their addresses in the status
 * subresource (as a kubelet writes them). The egress objects come later
 * ({@link seedEgressObjects}), once the admission webhook answers.
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
}
