// A process of simulated nodes for the scale benchmark (tools/bench/scale.mjs): for each node it is
// given, the real EgressAgent of @egressgateway/agent (its own KubeClient, informers, heartbeats
// and writes: the same list/watch/write requests as the shipped agent) with the datapath replaced
// by a binder that only counts. Driven over IPC (tools/bench/harness.mjs serveParent).
import { EgressAgent } from '@egressgateway/agent';
import { KubeClient } from '@egressgateway/kube';
import { KubeConfig } from '@kubernetes/client-node';
import { pool, serveParent } from './harness.mjs';

/** A binder with no kernel behind it: counts what it is asked to do. */
class CountingBinder {
  applies = 0;
  async apply() {
    this.applies++;
    return { ok: true };
  }
  async renewEips() {}
  async withdrawEips() {}
  async withdrawAll() {}
}

const agents = [];

async function handle(m) {
  switch (m.type) {
    case 'start': {
      await pool(m.nodes, 64, async (n) => {
        const kc = new KubeConfig();
        kc.loadFromString(m.kubeconfigYaml);
        const binder = new CountingBinder();
        const agent = new EgressAgent({
          client: new KubeClient(kc),
          binder,
          settings: { ...m.settings, nodeName: n.name, parent: { name: 'eth0', ipv4: n.ipv4 } },
        });
        await agent.start();
        agents.push({ agent, binder });
      });
      return { agents: agents.length };
    }
    case 'usage':
      return {
        mem: process.memoryUsage(),
        cpu: process.cpuUsage(),
        maxRss: process.resourceUsage().maxRSS * 1024,
        applies: agents.reduce((s, a) => s + a.binder.applies, 0),
        fenced: agents.filter((a) => a.agent.isFenced()).length,
      };
    default:
      throw new Error(`unknown message ${m.type}`);
  }
}

serveParent(handle);
