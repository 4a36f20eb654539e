/**
 * The lab's address and name plan (pure). Every address is in 198.18.0.0/15 or fd00::/8:
 *
 * | what | IPv4 | IPv6 |
 * |---|---|---|
 * | LAN (bridge `br0` in the `sw` namespace) | 198.18.0.0/24 | fd00:18::/64 |
 * | gateway node i (1-based) on the LAN | 198.18.0.(10+i) | fd00:18::(10+i) |
 * | worker node j on the LAN | 198.18.0.(30+j) | fd00:18::(30+j) |
 * | external server | 198.18.0.100 | fd00:18::100 |
 * | EIP | 198.18.0.50 | fd00:18::50 |
 * | management network (bridge `brm` in `ctl`) | 198.18.128.0/24, API at .1 | none |
 * | pods behind worker j | 198.19.j.0/24, node side .1 | fd00:19:j::/64 |
 * | tunnel range (controller and agents) | 198.19.255.0/24 | fd00:ff::/112 |
 *
 * The management network is separate from the LAN so that an agent-to-API partition can be
 * made (the node's management link goes down) while the node keeps serving its EIP on the LAN.
 */

/** One node of the lab. */
export interface NodePlan {
  /** Kubernetes node name (`gw1`, `wk1`). */
  name: string;
  role: 'gateway' | 'worker';
  /** Network namespace. */
  ns: string;
  lan4: string;
  lan6: string;
  /** MAC of the node's LAN interface `eth0`, fixed so ARP records are readable. */
  mac: string;
  /** Address on the management network (reaches the API server). */
  mgmt4: string;
  /** Health/metrics address of the agent (inside the node's namespace). */
  health: string;
}

/** One pod namespace behind a node. */
export interface PodPlan {
  name: string;
  node: string;
  ns: string;
  ip4: string;
  ip6: string;
  gw4: string;
  gw6: string;
  /** The node side of the pod's veth. */
  hostIf: string;
  /** Prefix lengths used on the veth. */
  prefix4: number;
  prefix6: number;
}

/** The whole lab. */
export interface LabPlan {
  prefix: string;
  sw: string;
  ext: string;
  ctl: string;
  ext4: string;
  ext6: string;
  eip4: string;
  eip6: string;
  /** The API server's address on the management network. */
  api4: string;
  apiPort: number;
  lanGateway4: string;
  lanGateway6: string;
  tunnelIpv4Cidr: string;
  tunnelIpv6Cidr: string;
  nodes: NodePlan[];
  pods: PodPlan[];
}

/** What to build. */
export interface PlanOptions {
  /** Unique prefix of every namespace name (keep it short: it is shown in `ip netns`). */
  prefix: string;
  /** Gateway nodes (1-9). */
  gateways: number;
  /** Worker nodes (1-9). */
  workers: number;
  /** Pods behind each worker (1-9). */
  podsPerWorker?: number;
}

/** Thrown for a plan the address scheme cannot hold. */
export class PlanError extends Error {
  readonly code = 'EGW_LAB_PLAN';
}

const mac = (n: number): string => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

/**
 * Computes names and addresses for a lab.
 *
 * @example
 * ```ts
 * const plan = planLab({ prefix: 'egl-a1', gateways: 3, workers: 1 });
 * plan.nodes.map((n) => `${n.name} ${n.lan4}`); // ['gw1 198.18.0.11', 'gw2 198.18.0.12', 'gw3 198.18.0.13', 'wk1 198.18.0.31']
 * ```
 */
export function planLab(o: PlanOptions): LabPlan {
  const perWorker = o.podsPerWorker ?? 1;
  for (const [k, v] of [
    ['gateways', o.gateways],
    ['workers', o.workers],
    ['podsPerWorker', perWorker],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 9)
      throw new PlanError(`${k} must be an integer from 1 to 9, got ${v}`);
  }
  if (!/^[a-z0-9-]{1,20}$/.test(o.prefix))
    throw new PlanError(`prefix must be 1-20 characters of [a-z0-9-], got "${o.prefix}"`);
  const nodes: NodePlan[] = [];
  const add = (role: NodePlan['role'], i: number) => {
    const name = `${role === 'gateway' ? 'gw' : 'wk'}${i}`;
    const host = (role === 'gateway' ? 10 : 30) + i;
    nodes.push({
      name,
      role,
      ns: `${o.prefix}-${name}`,
      lan4: `198.18.0.${host}`,
      lan6: `fd00:18::${host}`,
      mac: mac(host),
      mgmt4: `198.18.128.${host}`,
      health: '127.0.0.1:8789',
    });
  };
  for (let i = 1; i <= o.gateways; i++) add('gateway', i);
  for (let j = 1; j <= o.workers; j++) add('worker', j);
  const pods: PodPlan[] = [];
  for (let j = 1; j <= o.workers; j++) {
    for (let k = 1; k <= perWorker; k++) {
      const name = `pod-wk${j}-${k}`;
      pods.push({
        name,
        node: `wk${j}`,
        ns: `${o.prefix}-${name}`,
        ip4: `198.19.${j}.${1 + k}`,
        ip6: `fd00:19:${j}::${1 + k}`,
        gw4: `198.19.${j}.1`,
        gw6: `fd00:19:${j}::1`,
        hostIf: `veth-p${k}`,
        prefix4: 24,
        prefix6: 64,
      });
    }
  }
  return {
    prefix: o.prefix,
    sw: `${o.prefix}-sw`,
    ext: `${o.prefix}-ext`,
    ctl: `${o.prefix}-ctl`,
    ext4: '198.18.0.100',
    ext6: 'fd00:18::100',
    eip4: '198.18.0.50',
    eip6: 'fd00:18::50',
    api4: '198.18.128.1',
    apiPort: 6443,
    lanGateway4: '198.18.0.1',
    lanGateway6: 'fd00:18::1',
    tunnelIpv4Cidr: '198.19.255.0/24',
    tunnelIpv6Cidr: 'fd00:ff::/112',
    nodes,
    pods,
  };
}

/** Every namespace of a plan, in creation order. */
export function namespacesOf(plan: LabPlan): string[] {
  return [plan.sw, plan.ctl, plan.ext, ...plan.nodes.map((n) => n.ns), ...plan.pods.map((p) => p.ns)];
}

/** The node whose LAN MAC is `mac`, if any (to name ARP answers). */
export function nodeByMac(plan: LabPlan, macAddress: string): NodePlan | undefined {
  const m = macAddress.toLowerCase();
  return plan.nodes.find((n) => n.mac === m);
}

/** A fresh, short, unique namespace prefix (`egl-` + 6 base-36 characters). */
export function uniquePrefix(random: () => number = Math.random): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += Math.floor(random() * 36).toString(36);
  return `egl-${s}`;
}
