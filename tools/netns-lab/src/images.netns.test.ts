import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestRecord } from '@egressgateway/apiserver';
import { checkRbac } from '@egressgateway-tools/chart/rbac-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderChart } from './chart.js';
import { LAB_LABEL, PODMAN_GLOBAL } from './containers.js';
import { Lab } from './lab.js';
import { isRoot } from './preflight.js';
import { type Fault, ROLLING_UPDATE_GAP_MS, runScenario, type ScenarioResult } from './scenario.js';
import { FAST_TIMING } from './settings.js';
import { listLabNamespaces } from './topology.js';

const skipReason = 'images-mode netns e2e tests need root (network namespaces, buildah/podman): skipped';
if (!isRoot()) console.warn(skipReason);

const EVICT_MS = FAST_TIMING.eipEvictionTimeout * 1000;

/**
 * The longest probe gap when the gateway peers move the EIP off a dead node, as in the process-mode
 * peers lab (peers-lab.netns.test.ts): here under the chart's CPU limit of the agent (500m).
 */
const PEER_MOVE_GAP_MS = 1_000;

/**
 * The same failover assertions as the process-mode e2e, with the controllers and agents started
 * from the images of `npm run images` (nx builds them before this project's tests) the way the
 * Helm chart runs them with its default values: gateway peers on (the chart's key Secret), the
 * chart's CPU and memory limits. When the images are missing the lab says to run `npm run images`:
 * that is a failure, not a skip, because CI builds them.
 */
describe.skipIf(!isRoot())(
  'netns lab end to end from the images (podman; update 0.5 s, eviction 2 s)',
  () => {
    let lab: Lab;
    const results: ScenarioResult[] = [];

    beforeAll(async () => {
      lab = await Lab.start({ gateways: 3, workers: 1, controllers: 2, timing: FAST_TIMING, images: true });
    }, 240_000);

    afterAll(async () => {
      const prefix = lab?.plan.prefix;
      await lab?.teardown();
      if (prefix) {
        expect(listLabNamespaces(prefix)).toEqual([]);
        // Every container of this lab is gone too.
        const left = spawnSync(
          'podman',
          [
            ...PODMAN_GLOBAL,
            'ps',
            '--all',
            '--filter',
            `label=${LAB_LABEL}=${prefix}`,
            '--format',
            '{{.Names}}',
          ],
          { encoding: 'utf8' },
        ).stdout.trim();
        expect(left).toBe('');
      }
      for (const r of results)
        console.log(
          `images ${r.fault.padEnd(16)} ${r.from}->${r.to} detection ${r.detectionMs ?? '?'} ms, gap u4 ${r.gaps.u4?.ms.toFixed(0)} ms u6 ${r.gaps.u6?.ms.toFixed(0)} ms stream ${r.gaps.s4?.ms.toFixed(0)} ms, stream ${r.streamSurvived ? 'survived' : 'broken'}, dup ${r.duplicates.length}`,
        );
    });

    async function failover(fault: Fault, boundMs: number): Promise<ScenarioResult> {
      const r = await runScenario(lab, fault);
      results.push(r);
      expect(r.to).toBeDefined();
      expect(r.to).not.toBe(r.from);
      expect(r.holderAfterRecovery).toBe(r.to);
      expect(r.gaps.u4?.open ?? false).toBe(false);
      expect(r.gaps.u4?.ms ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(boundMs);
      expect(r.gaps.u6?.ms ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(boundMs);
      expect(r.sourcesAfter).toEqual([lab.plan.eip4]);
      expect(r.duplicates).toEqual([]);
      expect(r.oldStillBound).toBe(false);
      return r;
    }

    it("runs every controller and agent as a container of the images, limited as the chart's pods", () => {
      const mine = [...lab.controllers.values(), ...lab.agents.values()];
      expect(mine.length).toBe(2 + lab.plan.nodes.length);
      expect(mine.every((p) => p.container !== undefined && p.alive())).toBe(true);
      const limits = (name: string) =>
        spawnSync(
          'podman',
          [
            ...PODMAN_GLOBAL,
            'inspect',
            '--format',
            '{{.HostConfig.CpuQuota}}/{{.HostConfig.CpuPeriod}} {{.HostConfig.Memory}}',
            name,
          ],
          { encoding: 'utf8' },
        ).stdout.trim();
      // agent: 500m and 192Mi; controller: 1 CPU and 256Mi (the chart's resources.limits).
      expect(limits(lab.agents.get('gw1')?.container ?? '')).toBe(`50000/100000 ${192 * 2 ** 20}`);
      expect(limits(lab.controllers.get('ctl-a')?.container ?? '')).toBe(`100000/100000 ${256 * 2 ** 20}`);
    });

    it("the gateway agents run the peers as the chart's default values set them, none falls back, and their tunnels say so", async () => {
      expect(lab.peers).toBe(true);
      const gateways = lab.plan.nodes.filter((n) => n.role === 'gateway').map((n) => n.name);
      const lines = (node: string) => readFileSync(join(lab.runDir, `agent-${node}.log`), 'utf8').split('\n');
      for (const g of gateways) {
        const started = lines(g)
          .filter((l) => l.includes('"peer group started"'))
          .map((l) => (JSON.parse(l) as { members: string[] }).members.slice().sort());
        expect(started.at(-1)).toEqual(gateways.slice().sort());
        expect(
          lines(g).filter((l) => l.includes('gateway peers fallback') || l.includes('gateway peers off')),
        ).toEqual([]);
        expect(await lab.tunnelCondition(g, 'GatewayPeers')).toMatchObject({
          status: 'True',
          reason: 'PeersHeard',
        });
      }
    });

    it('the apps reach the API server over TLS as their chart ServiceAccounts (in-cluster config), recorded in the audit log', async () => {
      const records = readFileSync(lab.auditLog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RequestRecord);
      const controller = lab.serviceAccountOf('controller');
      const agent = lab.serviceAccountOf('agent');
      const did = (user: string, verb: string, resource: string, subresource?: string) =>
        records.some(
          (r) =>
            r.user === user &&
            r.verb === verb &&
            r.resource === resource &&
            r.subresource === subresource &&
            r.code < 300,
        );
      expect(did(agent, 'patch', 'egresstunnels', 'status')).toBe(true);
      expect(did(controller, 'patch', 'egressgateways', 'status')).toBe(true);
      expect(
        records.some(
          (r) => r.user === controller && r.resource === 'leases' && r.namespace === 'egressgateway',
        ),
      ).toBe(true);
      // Nobody else: the lab itself is admin, and only health checks go without a token.
      const others = records.filter(
        (r) => ![controller, agent, 'admin', 'system:anonymous'].includes(r.user),
      );
      expect(others).toEqual([]);
      expect(
        records.filter((r) => r.user === 'system:anonymous' && r.path !== '/readyz' && r.path !== '/healthz'),
      ).toEqual([]);
      expect(records.filter((r) => r.code === 401)).toEqual([]);
    });

    it('agent container SIGKILL: the EIP moves within eviction + 1 s, the old node lets go by itself, TCP survives', async () => {
      const r = await failover('agent-kill', EVICT_MS + 1000);
      expect(r.streamSurvived).toBe(true);
    });

    it('node link down: the peers move it before the eviction timeout', async () => {
      await failover('node-down', PEER_MOVE_GAP_MS);
    });

    it('planned handover (podman kill SIGTERM): moves without waiting for eviction; TCP survives', async () => {
      const r = await failover('planned', 1000);
      expect(r.detectionMs ?? Number.POSITIVE_INFINITY).toBeLessThan(EVICT_MS);
      expect(r.streamSurvived).toBe(true);
    });

    it('rolling update of every gateway agent to a new image: probe gap under 50 ms, never two MACs for the EIP', async () => {
      const r = await runScenario(lab, 'rolling-update');
      results.push(r);
      expect(r.gaps.u4?.open ?? false).toBe(false);
      expect(r.gaps.u4?.ms ?? Number.POSITIVE_INFINITY).toBeLessThan(ROLLING_UPDATE_GAP_MS);
      expect(r.gaps.u6?.ms ?? Number.POSITIVE_INFINITY).toBeLessThan(ROLLING_UPDATE_GAP_MS);
      expect(r.duplicates).toEqual([]);
      expect(r.streamSurvived).toBe(true);
      expect(r.sourcesAfter).toEqual([lab.plan.eip4]);
      // Every gateway agent now runs the new image.
      for (const n of lab.plan.nodes.filter((x) => x.role === 'gateway')) {
        const name = lab.agents.get(n.name)?.container ?? '';
        const image = spawnSync('podman', [...PODMAN_GLOBAL, 'inspect', '--format', '{{.ImageName}}', name], {
          encoding: 'utf8',
        }).stdout.trim();
        expect(image).toMatch(/-rollout$/);
      }
    });

    // Last: it reads the requests of every scenario above.
    it("the chart's RBAC allows every request the apps made, and each rule is used by one or justified", () => {
      const records = readFileSync(lab.auditLog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RequestRecord);
      const users = [lab.serviceAccountOf('controller'), lab.serviceAccountOf('agent')];
      // Enforced by the API server, so a refusal would also show as a 403 in the records.
      expect(records.filter((r) => users.includes(r.user) && r.code === 403)).toEqual([]);
      // The chart as the lab rendered it, with the values its RBAC and containers came from.
      const check = checkRbac(lab.chart ?? renderChart(lab.repoRoot), records, users);
      expect(check.denied).toEqual([]);
      expect(check.unused.map((u) => `${u.role} rule ${u.index}: ${JSON.stringify(u.rule)}`)).toEqual([]);
      console.log(
        `chart RBAC: ${[...check.uses].map(([k, n]) => `${k} ${n}`).join(', ')}; justified, unused here: ${check.justified.map((j) => `${j.role}#${j.index} (${j.justification})`).join(', ')}`,
      );
    });
  },
);
