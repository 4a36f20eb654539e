import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicateWindows, longestArpSilence } from './analysis.js';
import { sleep } from './exec.js';
import { paths } from './kube-api.js';
import { Lab } from './lab.js';
import { isRoot } from './preflight.js';
import { FAST_TIMING } from './settings.js';
import { listLabNamespaces } from './topology.js';

const skipReason = 'netns e2e tests need root (CAP_NET_ADMIN) to create network namespaces: skipped';
if (!isRoot()) console.warn(skipReason);

const EVICT_MS = FAST_TIMING.eipEvictionTimeout * 1000;

/**
 * Upstream's `feature.gatewayFailover.enable: false` (its chart's default), which users moving
 * from upstream bring along: the controller takes a tunnel's phase from its Node's Ready condition
 * and never times heartbeats out, so an EIP moves when its Node goes NotReady, not when an agent
 * dies.
 */
describe.skipIf(!isRoot())(
  'netns lab in node-ready mode (gatewayFailover false; 3 gateways, 1 worker)',
  () => {
    let lab: Lab;

    beforeAll(async () => {
      lab = await Lab.start({
        gateways: 3,
        workers: 1,
        controllers: 1,
        timing: FAST_TIMING,
        gatewayFailover: false,
      });
    }, 240_000);

    afterAll(async () => {
      const prefix = lab?.plan.prefix;
      await lab?.teardown();
      if (prefix) expect(listLabNamespaces(prefix)).toEqual([]);
    });

    const setReady = (node: string, ready: boolean) =>
      lab.api.mergePatch(`${paths.node(node)}/status`, {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: ready ? 'True' : 'False',
              reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
              message: ready ? 'netns lab node' : 'Kubelet stopped posting node status (lab)',
            },
          ],
        },
      });

    it('an agent SIGKILL moves nothing (the Node stays Ready); the restarted agent answers for the EIP again', async () => {
      const holder = await lab.holder();
      expect(holder).toBeDefined();
      const t0 = Date.now();
      lab.signalAgent(holder as string, 'SIGKILL');
      await sleep(EVICT_MS + 1500);
      expect(await lab.holder()).toBe(holder);
      await lab.restartAgent(holder as string);
      const back = await lab.waitFor(() => {
        const last = lab.arrivals.at(-1);
        return last !== undefined && last.t > Date.now() - 200 && lab.lastSource('u4') === lab.plan.eip4;
      }, 15_000);
      expect(back).toBe(true);
      expect(await lab.holder()).toBe(holder);
      // The killed agent's kernel lease ran out (at most one owner, as in heartbeat mode), so nobody
      // answered for the EIP until the new agent bound it: said in docs/operations.md.
      const silence = longestArpSilence(lab.arp, t0, Date.now());
      console.log(
        `node-ready mode, agent down ${EVICT_MS + 1500} ms: longest ARP silence ${silence.ms.toFixed(0)} ms`,
      );
      expect(duplicateWindows(lab.arp.filter((r) => r.t >= t0))).toEqual([]);
    });

    it("the holder's Node going NotReady moves the EIP to another Ready node, never two owners", async () => {
      const holder = (await lab.holder()) as string;
      const t0 = Date.now();
      await setReady(holder, false);
      let to: string | undefined;
      const moved = await lab.waitFor(async () => {
        to = await lab.holder();
        return to !== undefined && to !== holder;
      }, 15_000);
      expect(moved).toBe(true);
      // Traffic leaves through the new holder, and the old one let go (the status no longer names it).
      const resumed = await lab.waitFor(() => {
        const last = lab.arrivals.at(-1);
        return last !== undefined && last.t > Date.now() - 200 && lab.lastSource('u4') === lab.plan.eip4;
      }, 15_000);
      expect(resumed).toBe(true);
      expect(await lab.waitFor(() => !lab.eipBoundOn(holder), 5_000)).toBe(true);
      await setReady(holder, true);
      await sleep(EVICT_MS + 1000);
      // No move-back once the node is Ready again.
      expect(await lab.holder()).toBe(to);
      expect(duplicateWindows(lab.arp.filter((r) => r.t >= t0))).toEqual([]);
    });
  },
);
