import { CommandError, ipn, run, sysctl, tryRun } from './exec.js';
import type { LabPlan } from './plan.js';

let vethCounter = 0;

/** A veth pair between two namespaces, both ends up (a temporary name avoids clashes while moving). */
function veth(nsA: string, ifA: string, nsB: string, ifB: string, macA?: string): void {
  vethCounter += 1;
  const tmp = `egl${process.pid % 100000}x${vethCounter}`.slice(0, 15);
  ipn(nsA, 'link', 'add', ifA, ...(macA ? ['address', macA] : []), 'type', 'veth', 'peer', 'name', tmp);
  ipn(nsA, 'link', 'set', tmp, 'netns', nsB);
  ipn(nsB, 'link', 'set', tmp, 'name', ifB);
  ipn(nsA, 'link', 'set', ifA, 'up');
  ipn(nsB, 'link', 'set', ifB, 'up');
}

function newNs(ns: string, created: string[]): void {
  run('ip', ['netns', 'add', ns]);
  created.push(ns);
  ipn(ns, 'link', 'set', 'lo', 'up');
}

/**
 * Builds the topology of a plan: the LAN switch, the management network, the external server,
 * the nodes and the pods. Records every namespace it creates in `created` before configuring it,
 * so a failure half-way still lets the caller delete everything.
 */
export function buildTopology(plan: LabPlan, created: string[]): void {
  // The LAN: a bridge in its own namespace; every node and the server plug into it.
  newNs(plan.sw, created);
  ipn(plan.sw, 'link', 'add', 'br0', 'type', 'bridge');
  ipn(plan.sw, 'link', 'set', 'br0', 'up');
  // Control plane: API server and controllers, with the management bridge.
  newNs(plan.ctl, created);
  ipn(plan.ctl, 'link', 'add', 'brm', 'type', 'bridge');
  ipn(plan.ctl, 'link', 'set', 'brm', 'up');
  ipn(plan.ctl, 'addr', 'add', `${plan.api4}/24`, 'dev', 'brm');
  // The external server.
  newNs(plan.ext, created);
  veth(plan.ext, 'eth0', plan.sw, 'p-ext', '02:00:00:00:01:00');
  ipn(plan.sw, 'link', 'set', 'p-ext', 'master', 'br0');
  ipn(plan.ext, 'addr', 'add', `${plan.ext4}/24`, 'dev', 'eth0');
  ipn(plan.ext, 'addr', 'add', `${plan.ext6}/64`, 'dev', 'eth0', 'nodad');

  for (const n of plan.nodes) {
    newNs(n.ns, created);
    // Hardened like a real node: forwarding on (every Kubernetes node has it), strict rp_filter.
    sysctl(n.ns, 'net.ipv4.ip_forward', '1');
    sysctl(n.ns, 'net.ipv6.conf.all.forwarding', '1');
    sysctl(n.ns, 'net.ipv4.conf.all.rp_filter', '1');
    // Servers keep their static IPv6 addresses across a link flap (the kernel default drops them).
    sysctl(n.ns, 'net.ipv6.conf.default.keep_addr_on_down', '1');
    sysctl(n.ns, 'net.ipv6.conf.all.keep_addr_on_down', '1');
    veth(n.ns, 'eth0', plan.sw, `p-${n.name}`, n.mac);
    ipn(plan.sw, 'link', 'set', `p-${n.name}`, 'master', 'br0');
    ipn(n.ns, 'addr', 'add', `${n.lan4}/24`, 'dev', 'eth0');
    ipn(n.ns, 'addr', 'add', `${n.lan6}/64`, 'dev', 'eth0', 'nodad');
    // Real nodes have a default route (loose rp_filter on the tunnel needs one); the router is absent.
    ipn(n.ns, 'route', 'add', 'default', 'via', plan.lanGateway4);
    ipn(n.ns, '-6', 'route', 'add', 'default', 'via', plan.lanGateway6);
    veth(n.ns, 'mgmt0', plan.ctl, `m-${n.name}`);
    ipn(plan.ctl, 'link', 'set', `m-${n.name}`, 'master', 'brm');
    ipn(n.ns, 'addr', 'add', `${n.mgmt4}/24`, 'dev', 'mgmt0');
  }
  for (const p of plan.pods) {
    newNs(p.ns, created);
    const node = plan.nodes.find((n) => n.name === p.node);
    if (!node) throw new CommandError('plan', [p.name], null, `pod ${p.name} on unknown node ${p.node}`);
    veth(p.ns, 'eth0', node.ns, p.hostIf);
    ipn(p.ns, 'addr', 'add', `${p.ip4}/${p.prefix4}`, 'dev', 'eth0');
    ipn(p.ns, 'addr', 'add', `${p.ip6}/${p.prefix6}`, 'dev', 'eth0', 'nodad');
    ipn(p.ns, 'route', 'add', 'default', 'via', p.gw4);
    ipn(p.ns, '-6', 'route', 'add', 'default', 'via', p.gw6);
    // Several pods on one worker share the gateway address: only the first veth carries the subnet.
    const first = plan.pods.find((q) => q.node === p.node) === p;
    if (first) {
      ipn(node.ns, 'addr', 'add', `${p.gw4}/${p.prefix4}`, 'dev', p.hostIf);
      ipn(node.ns, 'addr', 'add', `${p.gw6}/${p.prefix6}`, 'dev', p.hostIf, 'nodad');
    } else {
      ipn(node.ns, 'route', 'add', `${p.ip4}/32`, 'dev', p.hostIf);
      ipn(node.ns, '-6', 'route', 'add', `${p.ip6}/128`, 'dev', p.hostIf);
    }
  }
}

/** Kills every process left in the namespaces and deletes them; never throws. Returns what failed. */
export function destroyNamespaces(namespaces: readonly string[]): string[] {
  const failed: string[] = [];
  for (const ns of namespaces) {
    const pids = tryRun('ip', ['netns', 'pids', ns]).stdout.split('\n').filter(Boolean);
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const ns of namespaces) {
    const r = tryRun('ip', ['netns', 'del', ns]);
    if (r.status !== 0 && !/No such file/.test(r.stderr)) failed.push(`${ns}: ${r.stderr.trim()}`);
  }
  return failed;
}

/** Namespaces on this machine whose name starts with `prefix-`. */
export function listLabNamespaces(prefix: string): string[] {
  return tryRun('ip', ['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
}
