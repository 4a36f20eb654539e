import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '@egressgateway/apiserver';
import { EGRESS_GATEWAYS, EGRESS_POLICIES, type EventInput, type EventRecorder } from '@egressgateway/kube';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EgressController } from '../src/controller.js';
import {
  createNodes,
  eventually,
  FakeAgents,
  gateway,
  holderOf,
  policy,
  startCluster,
  type TestCluster,
  testSettings,
} from './harness.js';

const settings = testSettings();

/** Collects events instead of writing them. */
class Events {
  readonly seen: EventInput[] = [];
  record(e: EventInput): void {
    this.seen.push(e);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
}

describe('controller resilience', () => {
  let cluster: TestCluster | undefined;
  let controller: EgressController | undefined;
  let agents: FakeAgents | undefined;
  let term = new AbortController();
  const dirs: string[] = [];

  beforeEach(() => {
    term = new AbortController();
  });

  afterEach(async () => {
    agents?.stop();
    term.abort();
    await controller?.stop();
    await cluster?.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** A cluster with a data dir (so it can restart), two gateway nodes, a policy, a leading controller and beating agents. */
  async function leadingWithData(): Promise<{
    dir: string;
    port: number;
    c: TestCluster;
    ctl: EgressController;
    beats: FakeAgents;
  }> {
    const dir = mkdtempSync(join(tmpdir(), 'egw-ctl-'));
    dirs.push(dir);
    cluster = await startCluster({ dataDir: dir });
    await createNodes(cluster, ['node1', 'node2']);
    await cluster.client.create(EGRESS_GATEWAYS, gateway());
    await cluster.client.create(EGRESS_POLICIES, policy());
    controller = new EgressController({ client: cluster.client, settings, watchdogMs: 3000 });
    controller.start();
    await controller.waitForSync();
    void controller.lead(term.signal);
    agents = new FakeAgents(cluster.client, ['node1', 'node2'], 100);
    agents.start();
    return { dir, port: cluster.server?.port ?? 0, c: cluster, ctl: controller, beats: agents };
  }

  it('survives an API server restart (with data dir): relists, converges, loses nothing', async () => {
    if (process.env.EGW_TEST_KUBECONFIG) return; // restarting needs the embedded server
    const { dir, port, c, ctl } = await leadingWithData();
    const first = await eventually('EIP assigned', () => holderOf(ctl.gateways.get('egw1'), 'policy1'));

    await c.server?.close();
    await new Promise((r) => setTimeout(r, 300));
    const restarted = await startApiServer({ port, dataDir: dir, bookmarkIntervalMs: 1000 });
    c.server = restarted;
    // Everything written before the restart is still there, and new writes flow again.
    await c.client.create(EGRESS_POLICIES, policy('policy2'));
    await eventually(
      'policy2 placed after the restart',
      () => holderOf(ctl.gateways.get('egw1'), 'policy2'),
      15_000,
    );
    expect(holderOf(ctl.gateways.get('egw1'), 'policy1')).toBe(first);
    expect(ctl.tunnels.list()).toHaveLength(2);
  });

  it('an API server outage longer than the eviction timeout evicts nobody: the outage does not count', async () => {
    if (process.env.EGW_TEST_KUBECONFIG) return; // stopping the API server needs the embedded one
    const { dir, port, c, ctl, beats } = await leadingWithData();
    const first = await eventually('EIP assigned', () => holderOf(ctl.gateways.get('egw1'), 'policy1'));
    await eventually('tunnels Ready', () =>
      ctl.tunnels.list().every((t) => t.status?.phase === 'Ready') ? true : undefined,
    );

    // The API server is down for 2.5 eviction timeouts; no agent can write a heartbeat meanwhile.
    beats.stop();
    const before = ctl.writeLog.length;
    await c.server?.close();
    await new Promise((r) => setTimeout(r, 2.5 * settings.eipEvictionTimeoutMs));
    c.server = await startApiServer({ port, dataDir: dir, bookmarkIntervalMs: 1000 });
    // A change the controller must see proves it reaches the API server again before any agent
    // has written: a new node, whose tunnel the leader creates.
    await createNodes(c, ['node3']);
    await eventually('the controller sees the API server again', () => ctl.tunnels.get('node3'), 15_000);
    beats.start();
    await new Promise((r) => setTimeout(r, 1.5 * settings.eipEvictionTimeoutMs));

    const evictions = ctl.writeLog
      .slice(before)
      .filter((w) => (w.body as { phase?: string } | undefined)?.phase === 'HeartbeatTimeout');
    expect(evictions).toEqual([]);
    expect(holderOf(ctl.gateways.get('egw1'), 'policy1')).toBe(first);
  });

  it('turns bad input into events without stopping other gateways', async () => {
    cluster = await startCluster();
    await createNodes(cluster, ['node1']);
    await cluster.client.create(EGRESS_GATEWAYS, gateway());
    await cluster.client.create(EGRESS_POLICIES, policy());
    // A policy naming a gateway that does not exist, and one with an EIP outside the pool.
    await cluster.client.create(EGRESS_POLICIES, policy('orphan', 'nope'));
    const outside = policy('outside');
    (outside.spec as Record<string, unknown>).egressIP = { ipv4: '198.18.0.99' };
    await cluster.client.create(EGRESS_POLICIES, outside);
    const events = new Events();
    controller = new EgressController({
      client: cluster.client,
      settings,
      events: events as unknown as EventRecorder,
    });
    controller.start();
    await controller.waitForSync();
    void controller.lead(term.signal);
    agents = new FakeAgents(cluster.client, ['node1'], 100);
    agents.start();
    await eventually('good policy placed', () => holderOf(controller?.gateways.get('egw1'), 'policy1'));
    const warnings = await eventually('warnings for both bad policies', () => {
      const w = events.seen.filter((e) => e.type === 'Warning');
      const names = new Set(w.map((e) => e.involvedObject.name));
      return names.has('orphan') && names.has('outside') ? w : undefined;
    });
    for (const w of warnings) expect(w.message.length).toBeGreaterThan(10);
    // Each problem is reported once, not on every reconcile.
    await new Promise((r) => setTimeout(r, 500));
    const count = events.seen.filter((e) => e.involvedObject.name === 'orphan').length;
    expect(count).toBe(1);
  });
});
