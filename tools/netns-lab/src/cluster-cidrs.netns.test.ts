/**
 * A policy without destSubnet steers everything a pod sends, except the cluster's own
 * destinations: EgressClusterInfo/default, filled by the controller from the Nodes (InternalIPs
 * and spec.podCIDRs), tells the agents what those are. Here the lab's policy has no destSubnet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from './lab.js';
import { isRoot } from './preflight.js';
import { FAST_TIMING } from './settings.js';
import { listLabNamespaces } from './topology.js';

if (!isRoot())
  console.warn('netns e2e tests need root (CAP_NET_ADMIN) to create network namespaces: skipped');

interface ClusterInfoStatus {
  nodeIP?: Record<string, { ipv4?: string[]; ipv6?: string[] }>;
  podCIDR?: Record<string, { ipv4?: string[]; ipv6?: string[] }>;
}

describe.skipIf(!isRoot())(
  'policy without destSubnet: in-cluster destinations never leave by the EIP',
  () => {
    let lab: Lab;

    beforeAll(async () => {
      lab = await Lab.start({
        gateways: 2,
        workers: 2,
        controllers: 1,
        timing: FAST_TIMING,
        policy: { destSubnet: false },
      });
    }, 240_000);

    afterAll(async () => {
      const prefix = lab?.plan.prefix;
      await lab?.teardown();
      if (prefix) expect(listLabNamespaces(prefix)).toEqual([]);
    });

    it('the controller fills EgressClusterInfo/default from the Nodes', async () => {
      let status: ClusterInfoStatus | undefined;
      const filled = await lab.waitFor(async () => {
        status = (await lab.clusterInfo())?.status as ClusterInfoStatus | undefined;
        return lab.plan.nodes.every((n) => status?.nodeIP?.[n.name]?.ipv4?.includes(n.lan4));
      }, 20_000);
      expect(filled, JSON.stringify(status)).toBe(true);
      const podCidrs = Object.values(status?.podCIDR ?? {}).flatMap((l) => [
        ...(l.ipv4 ?? []),
        ...(l.ipv6 ?? []),
      ]);
      expect(podCidrs).toEqual(
        expect.arrayContaining(['198.19.1.0/24', 'fd00:19:1::/64', '198.19.2.0/24', 'fd00:19:2::/64']),
      );
    });

    it('the external server sees the EIP (everything else is steered)', () => {
      expect(lab.lastSource('u4')).toBe(lab.plan.eip4);
      expect(lab.lastSource('u6')).toBe(lab.plan.eip6);
    });

    it("another node's address sees the pod's own address, not the EIP", async () => {
      const holder = await lab.holder();
      // A gateway that does not hold the EIP, and a worker: both only reachable directly.
      const other = lab.plan.nodes.find((n) => n.role === 'gateway' && n.name !== holder);
      const pod = lab.plan.pods.find((p) => p.node === 'wk1');
      if (!other || !pod) throw new Error('lab plan without a second gateway or a pod on wk1');
      for (const target of [other.name, 'wk2']) {
        const seen = await lab.sourcesSeenBy(target, pod.name, 2_000);
        expect(seen, target).toEqual({ u4: [pod.ip4], u6: [pod.ip6] });
      }
    });
  },
);
