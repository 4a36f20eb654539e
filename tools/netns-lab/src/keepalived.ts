/**
 * keepalived (VRRP) as the benchmark's physical reference row: the pure parts (configuration,
 * command line, SNAT rules, routes, `ip monitor` parsing, option parsing). The processes are run
 * by `vrrp-group.ts`.
 *
 * How the reference lab carries the pod's traffic without our controller and agents: one VRRP
 * instance per gateway node holds the EIP pair **and** a second address pair, the next hop, on the
 * LAN interface. The worker routes the pod subnets (policy routing, by source) through the next
 * hop, so the pod's packets reach whichever node holds the VIPs; every gateway has a static
 * nftables SNAT of the pod subnets to the EIP, so the holder sends them out with the EIP as
 * source. Both address pairs are in one instance, so they always move together.
 */
import { join } from 'node:path';
import type { LabPlan, NodePlan } from './plan.js';

/** The address pair the worker uses as next hop for pod traffic (it moves with the EIP). */
export const VRRP_NEXT_HOP = { ipv4: '198.18.0.60', ipv6: 'fd00:18::60' } as const;

/** The VRRP router id of the lab's one instance (1-255, same on every gateway). */
export const VRRP_ROUTER_ID = 50;

/** Routing table the worker uses for traffic from its pods. */
export const VRRP_POD_TABLE = 100;

/** Pod subnets (every worker's pods; the agents' tunnel range is unused here). */
export const POD_SUPERNET = { ipv4: '198.19.0.0/16', ipv6: 'fd00:19::/32' } as const;

/** Thrown for keepalived options that cannot work. */
export class KeepalivedOptionError extends Error {
  readonly code = 'EGW_LAB_KEEPALIVED_OPTION';
}

/** The faults a keepalived row can run (the others need our controller or the API server). */
export const KEEPALIVED_FAULTS = [
  'agent-kill',
  'agent-freeze',
  'node-down',
  'node-freeze',
  'lan-link-down',
  'planned',
] as const;

/**
 * Advertisement intervals accepted, in seconds. VRRPv3 counts in centiseconds (0.01-40.95 s);
 * the lab always runs VRRPv3 so that sub-second values mean what they say.
 */
export function validateAdvert(seconds: number): number {
  if (
    !Number.isFinite(seconds) ||
    seconds < 0.01 ||
    seconds > 40.95 ||
    Math.round(seconds * 100) !== seconds * 100
  )
    throw new KeepalivedOptionError(
      `advert interval must be 0.01-40.95 s in steps of 0.01 s (VRRPv3), got ${String(seconds)}`,
    );
  return seconds;
}

/** Parses `--adverts 1,0.1` (seconds, comma separated). */
export function parseAdverts(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '' || !/^\d+(\.\d+)?$/.test(p)))
    throw new KeepalivedOptionError(
      `--adverts wants seconds separated by commas (e.g. 1,0.1), got "${text}"`,
    );
  return parts.map((p) => validateAdvert(Number(p)));
}

/** The row label of a keepalived advert interval (`keepalived advert 0.1s`). */
export const keepalivedLabel = (advertSeconds: number): string => `keepalived advert ${advertSeconds}s`;

/**
 * VRRP priority of gateway `index` (1-based) of `count`: distinct and widely spaced, so that after
 * the master is lost the best backup's shorter skew time makes it take over alone instead of two
 * equal backups claiming the VIPs at once and sorting it out by address (a self-inflicted
 * duplicate that would be counted against keepalived).
 */
export function vrrpPriority(index: number, count: number): number {
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 1 || index > count || count > 9)
    throw new KeepalivedOptionError(`gateway index ${index} of ${count} is out of range`);
  const step = count === 1 ? 0 : Math.min(100, Math.floor(200 / (count - 1)));
  return 250 - step * (index - 1);
}

/**
 * When a backup declares the master dead (RFC 5798 Master_Down_Interval: 3 adverts + skew), in
 * ms: the keepalived counterpart of our eviction timeout.
 */
export function masterDownMs(advertSeconds: number, priority: number): number {
  const advertMs = advertSeconds * 1000;
  return 3 * advertMs + ((256 - priority) * advertMs) / 256;
}

/** What one gateway's keepalived is configured with. */
export interface KeepalivedNodeConfig {
  node: NodePlan;
  priority: number;
  advertSeconds: number;
  plan: LabPlan;
}

/**
 * keepalived.conf of one gateway (pure). All nodes start as BACKUP with `nopreempt`, so a node
 * that comes back never takes the VIPs back (the lab checks for move-back, as with our agents).
 * Gratuitous ARP/NA: keepalived's defaults (one burst on becoming master, another 5 s later).
 *
 * @example
 * ```ts
 * const plan = planLab({ prefix: 'egl-a', gateways: 3, workers: 1 });
 * renderKeepalivedConfig({ plan, node: plan.nodes[0]!, priority: 250, advertSeconds: 0.1 });
 * ```
 */
export function renderKeepalivedConfig(c: KeepalivedNodeConfig): string {
  validateAdvert(c.advertSeconds);
  const { plan, node } = c;
  return [
    `# keepalived reference for the netns lab, node ${node.name} (generated; do not edit)`,
    'global_defs {',
    `  router_id egw-lab-${node.name}`,
    // Sub-second adverts need VRRPv3 (v2 counts whole seconds).
    '  vrrp_version 3',
    '}',
    '',
    'vrrp_instance EGW_EIP {',
    '  state BACKUP',
    '  nopreempt',
    '  interface eth0',
    `  virtual_router_id ${VRRP_ROUTER_ID}`,
    `  priority ${c.priority}`,
    `  advert_int ${c.advertSeconds}`,
    '  virtual_ipaddress {',
    `    ${plan.eip4}/32 dev eth0`,
    `    ${VRRP_NEXT_HOP.ipv4}/32 dev eth0`,
    '  }',
    // One instance carries one family in its adverts; the IPv6 pair rides along, excluded from them.
    '  virtual_ipaddress_excluded {',
    `    ${plan.eip6}/128 dev eth0 preferred_lft forever`,
    `    ${VRRP_NEXT_HOP.ipv6}/128 dev eth0 preferred_lft forever`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Files of one node's keepalived in the run folder. */
export interface KeepalivedFiles {
  config: string;
  pid: string;
  vrrpPid: string;
}

/** Where one node's keepalived keeps its files (pure). */
export function keepalivedFiles(runDir: string, node: string): KeepalivedFiles {
  return {
    config: join(runDir, `keepalived-${node}.conf`),
    pid: join(runDir, `keepalived-${node}.pid`),
    vrrpPid: join(runDir, `keepalived-${node}-vrrp.pid`),
  };
}

/**
 * keepalived's arguments (pure): VRRP only, in the foreground, logging to the console (the run
 * folder's log) and not to syslog, with its own pid files, and no respawn of the VRRP child, so
 * that killing the daemon kills it rather than having it restarted behind the lab's back.
 */
export function keepalivedArgs(files: KeepalivedFiles): string[] {
  return [
    '--vrrp',
    '--dont-fork',
    '--log-console',
    '--log-detail',
    '--no-syslog',
    '--dont-respawn',
    `--use-file=${files.config}`,
    `--pid=${files.pid}`,
    `--vrrp_pid=${files.vrrpPid}`,
  ];
}

/**
 * The static SNAT of every gateway (an `nft -f -` script, pure): traffic from the pod subnets
 * leaving through the LAN gets the EIP as source. Present on every gateway at all times, so the
 * new holder never forwards a first packet un-NATed; the EIP address itself only answers ARP
 * where keepalived put it.
 */
export function renderSnatRules(plan: LabPlan): string {
  return [
    'table inet egw_keepalived {',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${POD_SUPERNET.ipv4} oifname "eth0" snat ip to ${plan.eip4}`,
    `    ip6 saddr ${POD_SUPERNET.ipv6} oifname "eth0" snat ip6 to ${plan.eip6}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** One `ip` command (arguments after `ip -n <ns>`), to run in a namespace. */
export interface IpCommand {
  ns: string;
  args: string[];
}

/**
 * The routes of the reference lab (pure): the worker sends traffic from its pods to the next-hop
 * VIP (policy routing by source, so the worker's own traffic is untouched), and every gateway
 * routes the pod subnets back through their worker. `gatewayOnly` gives just the gateway routes of
 * one node (a link flap deletes them; the lab puts them back on link up).
 */
export function vrrpRoutes(plan: LabPlan, gatewayOnly?: string): IpCommand[] {
  const out: IpCommand[] = [];
  for (const n of plan.nodes) {
    if (n.role === 'worker' && gatewayOnly === undefined) {
      for (const [fam, net, via] of [
        ['-4', POD_SUPERNET.ipv4, VRRP_NEXT_HOP.ipv4],
        ['-6', POD_SUPERNET.ipv6, VRRP_NEXT_HOP.ipv6],
      ] as const) {
        // Traffic to the pods stays in the main table; without this rule the worker's strict
        // rp_filter checks a pod's ARP for its gateway against table 100 and drops it.
        out.push({ ns: n.ns, args: [fam, 'rule', 'add', 'pref', '90', 'to', net, 'lookup', 'main'] });
        out.push({
          ns: n.ns,
          args: [fam, 'rule', 'add', 'pref', '100', 'from', net, 'lookup', String(VRRP_POD_TABLE)],
        });
        out.push({
          ns: n.ns,
          args: [
            fam,
            'route',
            'replace',
            'default',
            'via',
            via,
            'dev',
            'eth0',
            'table',
            String(VRRP_POD_TABLE),
          ],
        });
      }
    }
    if (n.role === 'gateway' && (gatewayOnly === undefined || gatewayOnly === n.name)) {
      for (const p of plan.pods) {
        const worker = plan.nodes.find((w) => w.name === p.node);
        if (!worker) continue;
        const net4 = `${p.gw4.replace(/\.\d+$/, '.0')}/${p.prefix4}`;
        const net6 = `${p.gw6.replace(/::\d+$/, '::')}/${p.prefix6}`;
        out.push({ ns: n.ns, args: ['-4', 'route', 'replace', net4, 'via', worker.lan4, 'dev', 'eth0'] });
        out.push({ ns: n.ns, args: ['-6', 'route', 'replace', net6, 'via', worker.lan6, 'dev', 'eth0'] });
      }
    }
  }
  // Several pods per worker share one subnet: one route each is enough.
  const seen = new Set<string>();
  return out.filter((c) => {
    const k = `${c.ns} ${c.args.join(' ')}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** An address added to or deleted from an interface, from `ip -o monitor address`. */
export interface AddrEvent {
  deleted: boolean;
  ifname: string;
  /** Address without prefix length. */
  address: string;
}

/**
 * Parses one line of `ip -o monitor address` (pure), e.g.
 * `Deleted 2: eth0    inet 198.18.0.50/32 scope global eth0\       valid_lft forever ...`.
 * Undefined for other lines.
 */
export function parseAddrEvent(line: string): AddrEvent | undefined {
  const m = /^(Deleted\s+)?(?:\[[A-Z_]+\]\s*)?\d+:\s+(\S+)\s+inet6?\s+([0-9a-fA-F:.]+)\/\d+/.exec(
    line.trim(),
  );
  if (!m) return undefined;
  return { deleted: m[1] !== undefined, ifname: m[2] as string, address: (m[3] as string).toLowerCase() };
}
