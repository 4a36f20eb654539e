import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ipn, nsExec, sysctl, tryRun } from './exec.js';
import {
  type KeepalivedFiles,
  keepalivedArgs,
  keepalivedFiles,
  parseAddrEvent,
  renderKeepalivedConfig,
  renderSnatRules,
  vrrpPriority,
  vrrpRoutes,
} from './keepalived.js';
import type { LabPlan, NodePlan } from './plan.js';
import type { LabProcess, ProcessSet } from './processes.js';

/** The keepalived executable (Debian package `keepalived`). */
export const KEEPALIVED_BIN = 'keepalived';

/**
 * keepalived on every gateway node of a lab, plus what it needs to carry the pod's traffic (see
 * keepalived.ts), and an `ip monitor address` per gateway that says, as it happens, which node
 * holds the EIP: the keepalived counterpart of the EgressGateway status.
 */
export class VrrpGroup {
  /** The keepalived parent process of each gateway. */
  readonly daemons = new Map<string, LabProcess>();
  /** Nodes whose LAN interface has the IPv4 EIP, with the time they got it. */
  private readonly held = new Map<string, number>();

  constructor(
    private readonly procs: ProcessSet,
    private readonly plan: LabPlan,
    private readonly runDir: string,
    readonly advertSeconds: number,
    /** Called when a node gets the EIP (time: when the kernel reported it). */
    private readonly onAcquire: (node: string, t: number) => void,
  ) {}

  private get gateways(): NodePlan[] {
    return this.plan.nodes.filter((n) => n.role === 'gateway');
  }

  private files(node: string): KeepalivedFiles {
    return keepalivedFiles(this.runDir, node);
  }

  /** SNAT, routes, configuration files and address monitors; then keepalived on every gateway. */
  start(): void {
    const snat = renderSnatRules(this.plan);
    const gws = this.gateways;
    for (const [i, n] of gws.entries()) {
      nsExec(n.ns, 'nft', ['-f', '-'], snat);
      // Pod traffic comes in and leaves on eth0: a redirect to the worker would be a detour.
      sysctl(n.ns, 'net.ipv4.conf.all.send_redirects', '0');
      sysctl(n.ns, 'net.ipv4.conf.eth0.send_redirects', '0');
      const f = this.files(n.name);
      writeFileSync(
        f.config,
        renderKeepalivedConfig({
          plan: this.plan,
          node: n,
          priority: vrrpPriority(i + 1, gws.length),
          advertSeconds: this.advertSeconds,
        }),
      );
      this.procs.start({
        name: `addr-monitor-${n.name}`,
        ns: n.ns,
        command: 'ip',
        args: ['-o', 'monitor', 'address'],
        onLine: (l) => this.onAddrLine(n.name, l),
      });
    }
    for (const c of vrrpRoutes(this.plan)) ipn(c.ns, ...c.args);
    for (const n of gws) this.startDaemon(n.name);
  }

  private onAddrLine(node: string, line: string): void {
    const e = parseAddrEvent(line);
    if (e?.ifname !== 'eth0' || e.address !== this.plan.eip4) return;
    if (e.deleted) {
      this.held.delete(node);
    } else if (!this.held.has(node)) {
      const t = Date.now();
      this.held.set(node, t);
      this.onAcquire(node, t);
    }
  }

  /** Starts keepalived on a gateway (its log: `keepalived-<node>.log`). */
  startDaemon(node: string): LabProcess {
    const n = this.gateways.find((g) => g.name === node);
    if (!n) throw new Error(`no gateway ${node} in this lab`);
    const p = this.procs.start({
      name: `keepalived-${node}`,
      ns: n.ns,
      command: KEEPALIVED_BIN,
      args: keepalivedArgs(this.files(node)),
    });
    this.daemons.set(node, p);
    return p;
  }

  /** Nodes that have the EIP on their LAN interface now (two = two owners). */
  holders(): string[] {
    return [...this.held.keys()];
  }

  /**
   * The node that got the EIP last among those that have it: after the master is killed the old
   * node keeps the address, and the new master is the one that matters for the failover.
   */
  holder(): string | undefined {
    let best: [string, number] | undefined;
    for (const [node, t] of this.held) if (!best || t > best[1]) best = [node, t];
    return best?.[0];
  }

  /** The pid of the VRRP child of a node's keepalived, when it runs. */
  private vrrpChild(node: string): number | undefined {
    const f = this.files(node).vrrpPid;
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    // A stale pid file must not make us signal an unrelated process.
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'keepalived' ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Signals a node's keepalived. SIGKILL and SIGSTOP hit the VRRP child (which owns the VIPs)
   * first and then the parent, so that neither gets to clean up: that is the crash being modelled.
   * SIGTERM goes to the parent only (a clean stop: keepalived releases the VIPs and sends a
   * priority-0 advert). SIGCONT wakes the parent, then the child.
   */
  signal(node: string, sig: NodeJS.Signals): void {
    const parent = this.daemons.get(node);
    if (!parent) throw new Error(`no keepalived on ${node}`);
    const child = this.vrrpChild(node);
    const kill = (pid: number | undefined) => {
      if (pid === undefined) return;
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    };
    if (sig === 'SIGTERM') {
      this.procs.signal(parent, sig);
    } else if (sig === 'SIGCONT') {
      this.procs.signal(parent, sig);
      kill(child);
    } else {
      kill(child);
      this.procs.signal(parent, sig);
    }
  }

  /** Stops a node's keepalived (whatever state it is in) and starts it again. */
  async restart(node: string): Promise<void> {
    const p = this.daemons.get(node);
    if (p?.alive()) {
      this.signal(node, 'SIGKILL');
      await p.exited;
    }
    // A killed VRRP child is re-parented and may stay a zombie: keepalived would take its pid
    // file for a running daemon and refuse to start ("daemon is already running").
    const f = this.files(node);
    rmSync(f.pid, { force: true });
    rmSync(f.vrrpPid, { force: true });
    this.startDaemon(node);
  }

  /** Puts back a gateway's routes to the pod subnets (a link flap deleted them). */
  restoreRoutes(node: string): void {
    for (const c of vrrpRoutes(this.plan, node)) ipn(c.ns, ...c.args);
  }

  /** keepalived's version (`Keepalived v2.2.7`), or undefined when it is not installed. */
  static version(): string | undefined {
    const r = tryRun(KEEPALIVED_BIN, ['--version'], undefined, 5000);
    if (r.status !== 0) return undefined;
    // keepalived 2.x prints its version on stderr.
    return /Keepalived v\S+/.exec(r.stdout + r.stderr)?.[0] ?? 'keepalived';
  }
}
