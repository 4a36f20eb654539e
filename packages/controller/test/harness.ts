import { type ApiServer, startApiServer } from '@egressgateway/apiserver';
import { customResourceDefinitions, type EgressGateway } from '@egressgateway/crds';
import {
  DEFAULT_HEARTBEAT_NAMESPACE,
  EGRESS_TUNNELS,
  type HeartbeatLease,
  KubeClient,
  NODES,
  renewHeartbeatLease,
} from '@egressgateway/kube';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';

/**
 * A cluster to test against: the embedded API server by default, or a real cluster when
 * EGW_TEST_KUBECONFIG names a kubeconfig (then nothing is started and objects are created there).
 */
export interface TestCluster {
  kc: KubeConfig;
  client: KubeClient;
  objects: KubernetesObjectApi;
  server: ApiServer | undefined;
  close(): Promise<void>;
}

export async function startCluster(options: { dataDir?: string; port?: number } = {}): Promise<TestCluster> {
  const external = process.env.EGW_TEST_KUBECONFIG;
  const kc = new KubeConfig();
  let server: ApiServer | undefined;
  if (external) kc.loadFromFile(external);
  else {
    server = await startApiServer({ ...options, bookmarkIntervalMs: 1000 });
    kc.loadFromString(server.kubeconfigYaml);
  }
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const crd of customResourceDefinitions()) {
    try {
      await objects.create(crd as never);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  return { kc, client: new KubeClient(kc), objects, server, close: async () => server?.close() };
}

export const node = (name: string, labels: Record<string, string> = { egress: 'true' }) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});

export const gateway = (name = 'egw1') => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressGateway',
  metadata: { name },
  spec: {
    ippools: {
      ipv4: ['198.18.0.55', '198.18.0.56'],
      ipv6: ['fd00::55', 'fd00::56'],
      ipv4DefaultEIP: '198.18.0.56',
      ipv6DefaultEIP: 'fd00::55',
    },
    nodeSelector: { selector: { matchLabels: { egress: 'true' } } },
  },
});

export const policy = (name = 'policy1', gatewayName = 'egw1', namespace = 'default') => ({
  apiVersion: 'egressgateway.spidernet.io/v1beta1',
  kind: 'EgressPolicy',
  metadata: { name, namespace },
  spec: {
    egressGatewayName: gatewayName,
    appliedTo: { podSelector: { matchLabels: { app: 'web' } } },
    destSubnet: ['203.0.113.0/24'],
  },
});

/**
 * One heartbeat of `node` as the agent writes it: a renewal of its heartbeat Lease (created on the
 * first call) sent at `sentAt`. Returns the Lease as stored; pass it back as `previous`.
 */
export function heartbeat(
  client: KubeClient,
  node: string,
  previous?: HeartbeatLease,
  sentAt = Date.now(),
  namespace = DEFAULT_HEARTBEAT_NAMESPACE,
): Promise<HeartbeatLease> {
  return renewHeartbeatLease(client, {
    node,
    namespace,
    sentAt,
    evictionTimeoutMs: 1000,
    previous,
  });
}

/**
 * Stands in for the agents: fills each tunnel's parent interface once it exists, then renews each
 * node's heartbeat Lease every `periodMs` for every node not paused (as the agents do).
 */
export class FakeAgents {
  readonly paused = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  lastAck = new Map<string, number>();
  private readonly leases = new Map<string, HeartbeatLease>();
  private readonly parentWritten = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly nodes: string[],
    private readonly periodMs: number,
    /** The controller's namespace, where it watches the heartbeat Leases. */
    private readonly namespace = DEFAULT_HEARTBEAT_NAMESPACE,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.periodMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await Promise.all(
        this.nodes
          .filter((n) => !this.paused.has(n))
          .map(async (n, i) => {
            try {
              // As an agent: no heartbeat before the controller created the tunnel, and the
              // first acknowledged one copied to the tunnel's lastHeartbeatTime with the parent.
              if (!this.parentWritten.has(n)) await this.client.get(EGRESS_TUNNELS, n);
              const sentAt = Date.now();
              this.leases.set(n, await heartbeat(this.client, n, this.leases.get(n), sentAt, this.namespace));
              this.lastAck.set(n, Date.now());
              if (!this.parentWritten.has(n)) {
                await this.client.patchStatus(EGRESS_TUNNELS, n, undefined, {
                  status: {
                    lastHeartbeatTime: new Date(sentAt).toISOString(),
                    tunnel: { parent: { name: 'eth0', ipv4: `198.18.0.${11 + i}` } },
                  },
                });
                this.parentWritten.add(n);
              }
            } catch {
              // the tunnel may not exist yet
            }
          }),
      );
    } finally {
      this.busy = false;
    }
  }
}

export async function createNodes(cluster: TestCluster, names: string[]): Promise<void> {
  for (const n of names) await cluster.client.create(NODES, node(n));
}

/** Polls `probe` every 20 ms until it returns a value, or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Controller settings for tests: fast eviction, deadline detection, default tunnel ranges. */
export function testSettings(overrides: { eipEvictionTimeoutMs?: number; tunnelIpv6Cidr?: string } = {}) {
  return {
    eipEvictionTimeoutMs: 1000,
    tunnelMonitorPeriodMs: 5000,
    rebalance: false,
    detection: 'deadline' as const,
    tunnelIpv4Cidr: '198.19.255.0/24',
    tunnelIpv6Cidr: 'fd00:ff::/112',
    ...overrides,
  };
}

/** Which node holds `policyName`'s EIP according to the gateway status (the source of truth). */
export function holderOf(gw: EgressGateway | undefined, policyName = 'policy1'): string | undefined {
  for (const n of gw?.status?.nodeList ?? [])
    if ((n.eips ?? []).some((e) => (e.policies ?? []).some((p) => p.name === policyName))) return n.name;
  return undefined;
}
