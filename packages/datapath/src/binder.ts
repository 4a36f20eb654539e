import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { canonicalIpOrThrow as normalizeAddress } from '@egressgateway/netaddr';
import { type Announcement, Announcer, DEFAULT_TOOLS, type EipConflict } from './announcer.js';
import type { ApplyReport, DatapathBinderOptions, OperationResult, RenewReport } from './binder-types.js';
import { DatapathError } from './errors.js';
import { NetlinkKernel } from './kernel-netlink.js';
import { DEFAULT_OWNERSHIP, type NodeDatapathState, type Ownership, validateState } from './model.js';
import { executeNetlinkOperation } from './netlink-operations.js';
import {
  type EipLease,
  type NftContent,
  type NftContentMemo,
  parseGeneration,
  parseNftJson,
  renderArpTable,
  renderDeleteScript,
  renderDeltaScript,
  renderFullScript,
  renderLeaseLines,
} from './nft-content.js';
import { applyNftScript, listNftTable, runNft } from './nft-runner.js';
import type { ObservedState } from './observed.js';
import { type DatapathOperation, describeOperation } from './operations.js';
import { planDatapath } from './plan.js';

const EMPTY_STATE = (egress: string): NodeDatapathState => ({
  egressInterface: egress,
  markRoutes: [],
  eips: [],
  steering: [],
  snat: [],
});

/**
 * Makes one node's kernel datapath match a {@link NodeDatapathState}, touching only what it owns:
 * EIP addresses marked with its IFA_PROTO value, its VXLAN device (alias `egressgateway:owned`),
 * ip rules with its protocol at its priority, routes in its table range, and the nftables tables
 * `inet egressgateway` and `arp egressgateway`. Runs in the node's network namespace (netlink has
 * no namespace argument). Calls are serialised.
 *
 * Every bound EIP has two clocks that only {@link DatapathBinder.renewEips} extends: its kernel
 * lifetime (whole seconds; the kernel then removes the address) and its lease (milliseconds; when
 * it runs out, nftables stops the node claiming the EIP: no ARP/ND from it). A killed or
 * frozen process stops renewing, and the node lets go of its EIPs with nothing left running.
 *
 * @example
 * ```ts
 * const binder = await DatapathBinder.open({ eipLifetimeSeconds: 10, eipLeaseMs: 2500 });
 * const report = await binder.apply(state);          // converge
 * setInterval(() => binder.renewEips(3, 2500), 1000); // after each acknowledged heartbeat
 * await binder.withdrawAll();                        // graceful shutdown
 * binder.close();
 * ```
 */
export class DatapathBinder {
  private readonly kernel: NetlinkKernel;
  private readonly announcer: Announcer;
  private readonly own: Ownership;
  private readonly opts: DatapathBinderOptions;
  private readonly now: () => number;
  private readonly nftPath: string;
  private queue: Promise<unknown> = Promise.resolve();
  private lastDesired: NodeDatapathState | undefined;
  private readonly conflicts = new Map<string, EipConflict>();
  private readonly memo: NftContentMemo = {};
  /**
   * The content this binder last wrote and the random generation token written with it in the
   * same transaction. When the kernel still holds that token, observe skips listing (and
   * parsing) the whole table.
   */
  private nftCache: { generation: number; content: NftContent } | undefined;
  /** Lease deadline (on `now`) per held EIP, to write the leases back when the tables are rebuilt. */
  private readonly leases = new Map<string, number>();

  private constructor(opts: DatapathBinderOptions) {
    this.opts = opts;
    this.own = { ...DEFAULT_OWNERSHIP, ...opts.ownership };
    this.kernel = new NetlinkKernel(this.own);
    this.announcer = new Announcer({ ...DEFAULT_TOOLS, ...opts.tools }, opts.onBackgroundError);
    this.now = opts.now ?? (() => performance.now());
    this.nftPath = opts.tools?.nft ?? 'nft';
  }

  /** Opens the netlink socket in the current network namespace. */
  static async open(opts: DatapathBinderOptions = {}): Promise<DatapathBinder> {
    return new DatapathBinder(opts);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads the owned kernel state. `hint` names the egress interface (for foreign addresses) and
   * the tunnel name (to adopt a device created by a binder that crashed before marking it).
   */
  observe(hint?: { egressInterface?: string; tunnelName?: string }): Promise<ObservedState> {
    return this.serial(() => this.observeNow(hint));
  }

  private async observeNow(hint?: { egressInterface?: string; tunnelName?: string }): Promise<ObservedState> {
    const egress = hint?.egressInterface ?? this.lastDesired?.egressInterface;
    // nft runs in its own process meanwhile; netlink dumps share one socket, which allows one
    // dump at a time (EBUSY otherwise), so they run in sequence.
    const nftPromise = this.observeNft();
    nftPromise.catch(() => undefined);
    const links = await this.kernel.links();
    const addrs = await this.kernel.addresses();
    const rules = await this.kernel.readRules();
    const tunnel = await this.kernel.readTunnel(
      links,
      addrs,
      hint?.tunnelName ?? this.lastDesired?.tunnel?.name,
    );
    const routes = await this.kernel.readRoutes(links);
    const { eips, foreign } = this.kernel.classifyAddresses(links, addrs, egress, tunnel?.name);
    const nft = await nftPromise;
    const rpFilterAll = await this.kernel.readRpFilter('all');
    const rpFilterDefault = await this.kernel.readRpFilter('default');
    return {
      tunnel,
      rules,
      routes,
      eips,
      foreignAddresses: foreign,
      nftTablePresent: nft.present,
      nft: nft.content,
      ...(rpFilterAll >= 0 ? { rpFilterAll } : {}),
      ...(rpFilterDefault >= 0 ? { rpFilterDefault } : {}),
    };
  }

  private async observeNft(): Promise<{ present: boolean; content: NftContent | null }> {
    const cache = this.nftCache;
    if (cache !== undefined) {
      const r = await runNft(
        ['-j', 'list', 'set', 'inet', this.own.nftTable, 'gen'],
        undefined,
        this.nftPath,
      );
      if (r.code === 0 && parseGeneration(r.stdout) === cache.generation)
        return { present: true, content: cache.content };
    }
    this.nftCache = undefined;
    const json = await listNftTable(this.own.nftTable, this.nftPath);
    if (json === null) return { present: false, content: null };
    const content = parseNftJson(json);
    const generation = parseGeneration(json);
    if (content !== null && generation !== undefined) this.nftCache = { generation, content };
    return { present: true, content };
  }

  /** Observes and plans without changing anything (a dry run). */
  plan(desired: NodeDatapathState): Promise<DatapathOperation[]> {
    const invalid = this.invalid(desired);
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.serial(async () =>
      planDatapath(
        await this.observeNow({ egressInterface: desired.egressInterface, ...tunnelHint(desired) }),
        desired,
        this.own,
      ),
    );
  }

  /**
   * Observes, plans and executes; see {@link ApplyReport}. Rejects only for an invalid state (an
   * `InvalidStateError`) or when the kernel cannot even be read; failed operations are reported.
   *
   * `options.leaseMs` is the lease of the EIPs this call binds, counted from the call (not from
   * when the queued run reaches the kernel): they are leased up to that instant in one nft
   * transaction before the first is bound, and their kernel lifetime is the whole seconds left
   * (at least 1, at most `eipLifetimeSeconds`). Pass what is left before your fence deadline, so
   * that a process killed right after the bind leaves no claim past it. Without it, new EIPs get
   * `eipLeaseMs` from the moment they are bound. When the lease is over before the bind
   * (`leaseMs <= 0`, or used up while the call waited), no EIP is bound: the run stops at the
   * first `eip-add`, reported as failed.
   *
   * @example
   * ```ts
   * await binder.apply(state, { leaseMs: fenceDeadline - clock.now() });
   * ```
   */
  apply(desired: NodeDatapathState, options: { readonly leaseMs?: number } = {}): Promise<ApplyReport> {
    const invalid = this.invalid(desired);
    if (invalid !== undefined) return Promise.reject(invalid);
    const { leaseMs } = options;
    if (leaseMs !== undefined && !Number.isFinite(leaseMs)) {
      return Promise.reject(
        new DatapathError('INVALID_STATE', `leaseMs must be a finite number of milliseconds, got ${leaseMs}`),
      );
    }
    const leaseUntil = leaseMs === undefined ? undefined : this.now() + leaseMs;
    return this.serial(() => this.applyNow(desired, leaseUntil));
  }

  private invalid(desired: NodeDatapathState): Error | undefined {
    try {
      validateState(desired, this.own);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  /** `leaseUntil` (on `now`): when the lease of EIPs bound by this run ends; default `eipLeaseMs` from the bind. */
  private async applyNow(desired: NodeDatapathState, leaseUntil?: number): Promise<ApplyReport> {
    const t0 = this.now();
    const observed = await this.observeNow({
      egressInterface: desired.egressInterface,
      ...tunnelHint(desired),
    });
    const t1 = this.now();
    const ops = planDatapath(observed, desired, this.own, this.memo);
    const foreignSet = new Set(observed.foreignAddresses.map((a) => a.address));
    const foreignEips = desired.eips.map(normalizeAddress).filter((e) => foreignSet.has(e));
    this.lastDesired = desired;
    return this.run(ops, t0, t1, foreignEips, leaseUntil);
  }

  /** Executes `ops` in order, stopping at the first failure, and builds the report. */
  private async run(
    ops: readonly DatapathOperation[],
    t0: number,
    t1: number,
    foreignEips: readonly string[],
    leaseUntil?: number,
  ): Promise<ApplyReport> {
    const t2 = this.now();
    const defaultLifetime = this.opts.eipLifetimeSeconds ?? 30;
    let lifetime = defaultLifetime;
    const applied: OperationResult[] = [];
    const announced: Announcement[] = [];
    const bound: { address: string; ifname: string }[] = [];
    let failed: ApplyReport['failed'];
    let leased = false;
    let i = 0;
    for (; i < ops.length; i++) {
      const o = ops[i] as DatapathOperation;
      const s = this.now();
      try {
        if (o.op === 'eip-add' && !leased) {
          // Every EIP of this run gets its lease before the first is bound (one nft transaction,
          // not one per EIP on the failover path): an EIP may not claim the LAN without one.
          leased = true;
          const adds = ops.flatMap((x) => (x.op === 'eip-add' ? [x.address] : []));
          const ms =
            leaseUntil === undefined
              ? (this.opts.eipLeaseMs ?? defaultLifetime * 1000)
              : leaseUntil - this.now();
          if (!(ms > 0)) {
            throw new DatapathError(
              'INVALID_STATE',
              `the lease given to apply() ended ${Math.round(-ms)} ms before the bind: no EIP bound (pass a leaseMs that is still running)`,
            );
          }
          if (leaseUntil !== undefined)
            lifetime = Math.min(defaultLifetime, Math.max(1, Math.floor(ms / 1000)));
          await this.writeLeases(adds, ms);
        }
        await this.execute(o, lifetime);
        if (o.op === 'eip-add') {
          bound.push({ address: o.address, ifname: o.interface });
          const a = await this.announceOne(o.address, o.interface);
          if (a !== undefined) announced.push(a);
        }
        if (o.op === 'eip-del') this.conflicts.delete(o.address);
      } catch (e) {
        failed = {
          operation: o,
          text: describeOperation(o),
          error: e instanceof Error ? e.message : String(e),
        };
        break;
      }
      applied.push({ operation: o, text: describeOperation(o), ms: this.now() - s });
    }
    const t3 = this.now();
    if (this.opts.probeAfterBind !== false) {
      for (const b of bound) this.probeInBackground(b.address, b.ifname);
    }
    return {
      ok: failed === undefined,
      applied,
      ...(failed !== undefined ? { failed } : {}),
      notApplied: ops.slice(i + (failed === undefined ? 0 : 1)).map(describeOperation),
      announced,
      foreignEips,
      conflicts: [...this.conflicts.values()],
      observeMs: t1 - t0,
      planMs: t2 - t1,
      executeMs: t3 - t2,
      totalMs: t3 - t0,
    };
  }

  /** Runs one operation; `lifetime` (whole seconds) is the kernel lifetime of an `eip-add`. */
  private async execute(o: DatapathOperation, lifetime: number): Promise<void> {
    switch (o.op) {
      case 'nft-replace':
      case 'nft-update': {
        const generation = randomInt(1, 0xffffffff);
        this.nftCache = undefined;
        const script =
          o.op === 'nft-replace'
            ? renderFullScript(o.content, o.egress, o.tunnel, this.own, generation, this.runningLeases())
            : renderDeltaScript(o.deltas, this.own, generation) +
              `${renderArpTable(o.content.sets.eip4, this.runningLeases(), this.own).join('\n')}\n`;
        await applyNftScript(script, this.nftPath);
        this.nftCache = { generation, content: o.content };
        return;
      }
      case 'nft-delete':
        this.nftCache = undefined;
        return applyNftScript(renderDeleteScript(this.own), this.nftPath);
      case 'eip-add':
        return this.kernel.writeEip(o.address, o.interface, lifetime, true);
      case 'eip-del':
        this.leases.delete(normalizeAddress(o.address));
        return executeNetlinkOperation(this.kernel, o);
      default:
        return executeNetlinkOperation(this.kernel, o);
    }
  }

  private runningLeases(): EipLease[] {
    const now = this.now();
    const out: EipLease[] = [];
    for (const [address, until] of this.leases) if (until > now) out.push({ address, ms: until - now });
    return out;
  }

  /** Sets the lease of `addresses` to `ms` from now (one nft transaction). */
  private async writeLeases(addresses: readonly string[], ms: number): Promise<void> {
    if (addresses.length === 0) return;
    const until = this.now() + ms;
    const leases = addresses.map((address) => ({ address: normalizeAddress(address), ms }));
    await applyNftScript(`${renderLeaseLines(leases, this.own).join('\n')}\n`, this.nftPath);
    for (const l of leases) this.leases.set(l.address, until);
  }

  private async announceOne(address: string, ifname: string): Promise<Announcement | undefined> {
    const cfg = this.opts.announce ?? { count: 2, repeatAfterMs: 3000 };
    if (cfg === false) return undefined;
    const link = await this.kernel.link(ifname);
    if (link === undefined) return undefined;
    return this.announcer.announce(address, ifname, link.index, link.mac, cfg.count, cfg.repeatAfterMs);
  }

  private probeInBackground(address: string, ifname: string): void {
    this.probeOne(address, ifname).catch((e: unknown) =>
      this.opts.onBackgroundError?.(`probe ${address}`, e instanceof Error ? e : new Error(String(e))),
    );
  }

  private async probeOne(address: string, ifname: string): Promise<EipConflict | null> {
    const link = await this.kernel.link(ifname);
    const c = await this.announcer.probe(address, ifname, link?.mac ?? '');
    if (c === null) this.conflicts.delete(address);
    else {
      this.conflicts.set(address, c);
      this.opts.onConflict?.(c);
    }
    return c;
  }

  /**
   * Probes every held EIP for another owner on the LAN (about one second when there is none;
   * call it periodically, off the critical path). Results also appear in later apply reports.
   */
  async probeConflicts(): Promise<EipConflict[]> {
    const held = (await this.observe()).eips;
    const results = await Promise.all(held.map((e) => this.probeOne(e.address, e.interface)));
    return results.filter((c): c is EipConflict => c !== null);
  }

  /**
   * Sets the kernel lifetime of every held EIP to `lifetimeSeconds` (valid and preferred) and its
   * lease to `leaseMs` from now (default: the lifetime). Call after each acknowledged heartbeat;
   * if calls stop, the node stops claiming the EIPs when the lease runs out and the kernel removes them when
   * the lifetime does. A lease shorter than the previous one shortens it.
   */
  renewEips(lifetimeSeconds: number, leaseMs?: number): Promise<RenewReport> {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds >= 0xffffffff) {
      return Promise.reject(new DatapathError('INVALID_STATE', 'lifetimeSeconds must be a positive integer'));
    }
    if (leaseMs !== undefined && !(Number.isFinite(leaseMs) && leaseMs > 0)) {
      return Promise.reject(new DatapathError('INVALID_STATE', 'leaseMs must be a positive number'));
    }
    return this.serial(async () => {
      const t0 = this.now();
      const addrs = await this.kernel.addresses();
      const links = await this.kernel.links();
      const { eips } = this.kernel.classifyAddresses(links, addrs, undefined, undefined);
      let renewed: string[] = [];
      const failed: { address: string; error: string }[] = [];
      for (const e of eips) {
        if (e.validLft === null) continue;
        try {
          await this.kernel.writeEip(e.address, e.interface, lifetimeSeconds, false);
          renewed.push(e.address);
        } catch (err) {
          failed.push({ address: e.address, error: err instanceof Error ? err.message : String(err) });
        }
      }
      try {
        await this.writeLeases(renewed, leaseMs ?? lifetimeSeconds * 1000);
      } catch (err) {
        const error = `lease not renewed: ${err instanceof Error ? err.message : String(err)}`;
        failed.push(...renewed.map((address) => ({ address, error })));
        renewed = [];
      }
      return { renewed, failed, ms: this.now() - t0 };
    });
  }

  /**
   * Self-fencing: removes every EIP this binder owns (on any interface) and nothing else. The
   * steering and SNAT state stays, so established flows keep working until the controller moves
   * them.
   */
  withdrawEips(): Promise<ApplyReport> {
    return this.serial(async () => {
      const t0 = this.now();
      const observed = await this.observeNow();
      const t1 = this.now();
      const ops: DatapathOperation[] = observed.eips.map((e) => ({
        op: 'eip-del',
        address: e.address,
        interface: e.interface,
      }));
      return this.run(ops, t0, t1, []);
    });
  }

  /** Removes everything the binder owns: EIPs, tunnel, rules, routes, nftables table. */
  withdrawAll(): Promise<ApplyReport> {
    const egress = this.lastDesired?.egressInterface ?? 'lo';
    return this.serial(() => this.applyNow(EMPTY_STATE(egress)));
  }

  /** Stops background helpers and closes the netlink socket. Kernel state is left as it is. */
  close(): void {
    this.announcer.close();
    this.kernel.close();
  }
}

function tunnelHint(desired: NodeDatapathState): { tunnelName?: string } {
  return desired.tunnel === undefined ? {} : { tunnelName: desired.tunnel.name };
}
