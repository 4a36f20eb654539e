import { LeaderElector } from '@egressgateway/election';
import { KubernetesLeaseLock } from '@egressgateway/election/kubernetes';
import { EGRESS_GATEWAYS, EGRESS_POLICIES, NAMESPACES, systemClock } from '@egressgateway/kube';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { EgressController, type WriteRecord } from '../src/controller.js';
import {
  createNodes,
  eventually,
  FakeAgents,
  gateway,
  policy,
  startCluster,
  type TestCluster,
  testSettings,
} from './harness.js';

const settings = testSettings({ eipEvictionTimeoutMs: 1500, tunnelIpv6Cidr: '' });
const timing = { leaseDurationMs: 1200, renewDeadlineMs: 800, retryPeriodMs: 200 };

interface Replica {
  id: string;
  controller: EgressController;
  elector: LeaderElector;
  terms: Array<{ start: number; end?: number }>;
}

async function replica(cluster: TestCluster, id: string, releaseOnStop: boolean): Promise<Replica> {
  const controller = new EgressController({ client: cluster.client, settings });
  controller.start();
  const terms: Replica['terms'] = [];
  const lock = await KubernetesLeaseLock.fromKubeConfig(cluster.kc, {
    namespace: 'kube-system',
    name: 'egw-test',
  });
  const elector = new LeaderElector({
    lock,
    identity: id,
    ...timing,
    releaseOnStop,
    onStartedLeading: async (signal) => {
      // The controller's clock, which its write log stamps with (monotonic, fractions of a ms):
      // Date.now() truncates, so a write in the term's last millisecond looked later than its end.
      const term: { start: number; end?: number } = { start: systemClock.now() };
      terms.push(term);
      await controller.waitForSync();
      await controller.lead(signal);
      term.end = systemClock.now();
    },
  });
  elector.start();
  return { id, controller, elector, terms };
}

const gatewayWrites = (log: WriteRecord[], after = 0) =>
  log.filter((w) => w.resource === 'egressgateways' && w.at > after);

describe('two controller replicas', () => {
  let cluster: TestCluster;
  const replicas: Replica[] = [];
  let agents: FakeAgents;

  afterEach(async () => {
    agents?.stop();
    for (const r of replicas.splice(0)) {
      await r.elector.stop();
      await r.controller.stop();
    }
    await cluster.close();
  });

  for (const mode of ['crash (no release)', 'graceful release'] as const) {
    it(`${mode}: exactly one replica writes at a time, and the new leader moves no EIP on takeover`, async () => {
      cluster = await startCluster();
      await cluster.client.create(NAMESPACES, { metadata: { name: 'kube-system' } }).catch(() => undefined);
      await createNodes(cluster, ['node1', 'node2']);
      await cluster.client.create(EGRESS_GATEWAYS, gateway());
      await cluster.client.create(EGRESS_POLICIES, policy());
      const releaseOnStop = mode === 'graceful release';
      replicas.push(await replica(cluster, 'a', releaseOnStop), await replica(cluster, 'b', releaseOnStop));
      agents = new FakeAgents(cluster.client, ['node1', 'node2'], 100);
      agents.start();

      const leader = await eventually('a leader', () => replicas.find((r) => r.elector.isLeader()));
      const follower = replicas.find((r) => r !== leader) as Replica;
      await eventually('EIP assigned', () =>
        (leader.controller.gateways.get('egw1')?.status?.nodeList ?? []).some(
          (n) => (n.eips ?? []).length > 0,
        ),
      );
      await eventually('tunnels Ready', () =>
        leader.controller.tunnels.list().every((t) => t.status?.phase === 'Ready'),
      );
      const placement = JSON.stringify(leader.controller.gateways.get('egw1')?.status?.nodeList);

      // The leader goes away: crash (stop renewing, keep the lease) or graceful stop (release).
      await leader.elector.stop();
      // Graceful: the lease is released (handover without waiting for expiry); crash: still held.
      const lease = await cluster.kc
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: 'egw-test', namespace: 'kube-system' });
      const holderAfterStop = lease.spec?.holderIdentity ?? '';
      if (mode === 'graceful release') expect([follower.id, '']).toContain(holderAfterStop);
      else expect(holderAfterStop).toBe(leader.id);
      await eventually('the other replica leads', () => follower.elector.isLeader(), 10_000);
      await new Promise((r) => setTimeout(r, 500));

      // Terms never overlap: the old term ended before the new one started.
      const oldTerm = leader.terms[0];
      const newTerm = follower.terms[0];
      expect(oldTerm?.end).toBeDefined();
      expect(newTerm?.start).toBeGreaterThanOrEqual(oldTerm?.end ?? Number.POSITIVE_INFINITY);
      // Writes of the old leader all happened inside its term, none after.
      expect(leader.controller.writeLog.every((w) => w.at <= (oldTerm?.end ?? 0))).toBe(true);
      // The new leader, computing from the written status, moved nothing.
      expect(gatewayWrites(follower.controller.writeLog)).toEqual([]);
      expect(JSON.stringify(follower.controller.gateways.get('egw1')?.status?.nodeList)).toBe(placement);
    });
  }
});
