import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { canonicalIpOrThrow as normalizeAddress } from '@egressgateway/netaddr';
import { type Announcement, Announcer, DEFAULT_TOOLS, type EipConflict } from './announcer.js';
import type {
  ApplyReport,
  DatapathBinderOptions,
  OperationResult,
  ReleaseReport,
  RenewReport,
} from './binder-types.js';
import { DatapathError } from './errors.js';
import { NetlinkKernel } from './kernel-netlink.js';
import { type BindRequest, LeaseLane } from './lease-lane.js';
import { DEFAULT_OWNERSHIP, type NodeDatapathState, type Ownership, validateState } from './model.js';
import { executeNetlinkOperation } from './netlink-operations.js';
import {
  type NftContent,
  type NftContentMemo,
  parseGeneration,
  parseNftJson,
  renderArpTable,
  renderDeleteScript,
  renderDeltaScript,
  renderFullScript,
  renderGenerationCheck,
} from './nft-content.js';
import { listNftTable } from './nft-runner.js';
import { NftSession } from './nft-session.js';
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
 * Every bound EIP has two clocks that only renewals ({@link DatapathBinder.renewLeases},
 * {@link DatapathBinder.renewEips}) extend: its kernel lifetime (whole seconds; the kernel then
 * removes the address) and its lease (milliseconds; when it runs out, nftables stops the node
 * claiming the EIP: no ARP/ND from it). A killed or frozen process stops renewing, and the node
 * lets go of its EIPs with nothing left running. Lease deadlines are instants on the `now` clock
 * of the options; each is turned into an nft timeout when the transaction is written.
 *
 * Renewals and releases ({@link DatapathBinder.releaseEips}) do not queue behind applies: they
 * wait for at most the one nft transaction in flight (see `lease-lane.ts` for the interleavings).
 *
 * @example
 * ```ts
 * const binder = await DatapathBinder.open({ eipLifetimeSeconds: 10, eipLeaseMs: 2500 });
 * const report = await binder.apply(state, { leaseUntil: performance.now() + 2500 }); // converge
 * setInterval(() => binder.renewLeases(performance.now() + 2500), 1000); // after each acknowledged heartbeat
 * await binder.releaseEips(['198.51.100.7']);                          // give one EIP up at once
 * await binder.withdrawAll();                                          // graceful shutdown
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
  /** Every nftables transaction goes through it (a long-lived `nft -i`; see {@link NftSession}). */
  private readonly nft: NftSession;
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
  /** The EIP leases: deadlines per held EIP, written off the apply queue. */
  private readonly lane: LeaseLane;

  private constructor(opts: DatapathBinderOptions) {
    this.opts = opts;
    this.own = { ...DEFAULT_OWNERSHIP, ...opts.ownership };
    this.kernel = new NetlinkKernel(this.own);
    this.announcer = new Announcer({ ...DEFAULT_TOOLS, ...opts.tools }, opts.onBackgroundError);
    this.now = opts.now ?? (() => performance.now());
    this.nftPath = opts.tools?.nft ?? 'nft';
    this.nft = new NftSession({ argv: [this.nftPath] });
    this.lane = new LeaseLane({
      now: this.now,
      nft: (script) => this.nft.run(script),
      writeLifetime: (address, ifname, seconds) => this.kernel.writeEip(address, ifname, seconds, false),
      removeAddress: (address, ifname) =>
        executeNetlinkOperation(this.kernel, { op: 'eip-del', address, interface: ifname }),
      own: this.own,
    });
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
    const addrsAt = this.now();
    const addrs = await this.kernel.addresses();
    const rules = await this.kernel.readRules();
    const tunnel = await this.kernel.readTunnel(
      links,
      addrs,
      hint?.tunnelName ?? this.lastDesired?.tunnel?.name,
    );
    const routes = await this.kernel.readRoutes(links);
    const { eips, foreign } = this.kernel.classifyAddresses(links, addrs, egress, tunnel?.name);
    this.lane.observed(eips, addrsAt);
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
      // The token still in the table means nobody rewrote it since: no listing needed.
      const same = await this.nft.run(renderGenerationCheck(cache.generation, this.own)).then(
        () => true,
        () => false,
      );
      if (same) return { present: true, content: cache.content };
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
   * `options.leaseUntil` is the instant (on the `now` clock of the options) at which the lease of
   * the EIPs this call binds ends; `options.leaseMs` is the same counted from the call. The EIPs
   * are leased in one nft transaction before the first is bound, the timeout computed when that
   * transaction is written; their kernel lifetime is the whole seconds left (at least 1, at most
   * `eipLifetimeSeconds`). A desired EIP already bound without a lease this binder knows of (bound
   * by a previous run, or released before this call) gets the same lease. Without either option,
   * new EIPs get `eipLeaseMs` from the moment they are bound. The newest request wins: a
   * {@link renewLeases} made after this call (while it waited in the queue) gives the EIPs it
   * binds the renewal's deadline instead, and an EIP released ({@link releaseEips}) after this
   * call is not bound. When the lease is over before the bind (already at the call, or while the
   * call waited), that EIP is not bound: the run stops at its `eip-add`, reported as failed.
   *
   * @example
   * ```ts
   * await binder.apply(state, { leaseUntil: fenceDeadline });
   * ```
   */
  apply(
    desired: NodeDatapathState,
    options: { readonly leaseUntil?: number; readonly leaseMs?: number } = {},
  ): Promise<ApplyReport> {
    const invalid = this.invalid(desired);
    if (invalid !== undefined) return Promise.reject(invalid);
    const { leaseMs, leaseUntil } = options;
    if (leaseMs !== undefined && leaseUntil !== undefined) {
      return Promise.reject(
        new DatapathError(
          'INVALID_STATE',
          'pass leaseUntil or leaseMs to apply(), not both (leaseUntil is preferred)',
        ),
      );
    }
    for (const [name, v] of [
      ['leaseMs', leaseMs],
      ['leaseUntil', leaseUntil],
    ] as const) {
      if (v !== undefined && !Number.isFinite(v)) {
        return Promise.reject(
          new DatapathError('INVALID_STATE', `${name} must be a finite number of milliseconds, got ${v}`),
        );
      }
    }
    const until = leaseUntil ?? (leaseMs === undefined ? undefined : this.now() + leaseMs);
    const req: BindRequest = { until, seq: this.lane.nextSeq() };
    return this.serial(() => this.applyNow(desired, req));
  }

  private invalid(desired: NodeDatapathState): Error | undefined {
    try {
      validateState(desired, this.own);
      return undefined;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  /** `req`: the call's lease request (deadline on `now`, or `eipLeaseMs` from the bind) and place in line. */
  private async applyNow(desired: NodeDatapathState, req: BindRequest): Promise<ApplyReport> {
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
    const wanted = new Set(desired.eips.map(normalizeAddress));
    const keep = observed.eips
      .filter((e) => wanted.has(e.address) && e.interface === desired.egressInterface)
      .map((e) => e.address)
      .filter((e) => this.lane.unleased(e, req));
    return this.run(ops, t0, t1, foreignEips, req, keep);
  }

  /**
   * Executes `ops` in order, stopping at the first failure, and builds the report. Before the first
   * EIP operation, the EIPs it binds (and `keep`: held ones without a known lease) are leased in one
   * nft transaction; before the first `eip-del`, the leases of every EIP it removes end in one.
   */
  private async run(
    ops: readonly DatapathOperation[],
    t0: number,
    t1: number,
    foreignEips: readonly string[],
    req: BindRequest,
    keep: readonly string[] = [],
  ): Promise<ApplyReport> {
    const t2 = this.now();
    const defaultLifetime = this.opts.eipLifetimeSeconds ?? 30;
    const defaultLeaseMs = this.opts.eipLeaseMs ?? defaultLifetime * 1000;
    const applied: OperationResult[] = [];
    const announced: Announcement[] = [];
    const bound: { address: string; ifname: string }[] = [];
    const adds = ops.flatMap((x) => (x.op === 'eip-add' ? [x.address] : []));
    const dels = ops.flatMap((x) => (x.op === 'eip-del' ? [x.address] : []));
    let lease: { leased: Map<string, number>; refused: Map<string, number> } | undefined;
    const leaseStep = async (): Promise<void> => {
      if (lease !== undefined) return;
      lease = { leased: new Map(), refused: new Map() };
      const addresses = [...new Set([...adds, ...keep])];
      if (addresses.length > 0) lease = await this.lane.leaseForBind(addresses, req, defaultLeaseMs);
    };
    let ended = false;
    let failed: ApplyReport['failed'];
    let i = 0;
    try {
      for (; i < ops.length; i++) {
        const o = ops[i] as DatapathOperation;
        const s = this.now();
        try {
          if (o.op === 'eip-add' || o.op === 'eip-del') await leaseStep();
          if (o.op === 'eip-add') {
            const address = normalizeAddress(o.address);
            const until = lease?.leased.get(address);
            if (until === undefined || this.lane.releasedSince(address, req)) {
              const ago = lease?.refused.get(address);
              throw new DatapathError(
                'INVALID_STATE',
                ago === undefined || ago === Number.POSITIVE_INFINITY
                  ? `EIP ${address} was released (releaseEips) after this apply was called: not bound`
                  : `the lease given to apply() ended ${Math.round(ago)} ms before the bind: no EIP bound (pass a leaseUntil that is still ahead)`,
              );
            }
            const lifetime =
              req.until === undefined
                ? defaultLifetime
                : Math.min(defaultLifetime, Math.max(1, Math.floor((until - this.now()) / 1000)));
            const at = this.now();
            await this.kernel.writeEip(o.address, o.interface, lifetime, true);
            this.lane.noteBound(address, o.interface, lifetime, at);
            bound.push({ address: o.address, ifname: o.interface });
            const a = await this.announceOne(o.address, o.interface);
            if (a !== undefined) announced.push(a);
          } else if (o.op === 'eip-del') {
            if (!ended) {
              ended = true;
              // The lease ends first (one nft transaction for every EIP this run removes), then the address.
              await this.lane.endForRemoval(dels.map(normalizeAddress), req);
            }
            await this.lane.remove(normalizeAddress(o.address), o.interface);
            this.conflicts.delete(o.address);
          } else {
            await this.execute(o);
          }
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
      if (failed === undefined && keep.length > 0) await leaseStep();
    } catch (e) {
      // Only the lease of kept EIPs can fail here (after every operation succeeded).
      failed = {
        operation: ops[ops.length - 1] ?? { op: 'nft-delete' },
        text: 'lease of held EIPs',
        error: e instanceof Error ? e.message : String(e),
      };
    } finally {
      this.lane.bindingDone(adds.map(normalizeAddress));
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

  /**
   * Runs one operation other than `eip-add`/`eip-del`. nft runs take the lease lane's lock, and a
   * rebuild renders the running leases inside it (the newest deadlines, never older ones).
   */
  private async execute(o: DatapathOperation): Promise<void> {
    switch (o.op) {
      case 'nft-replace':
      case 'nft-update': {
        const generation = randomInt(1, 0xffffffff);
        this.nftCache = undefined;
        await this.lane.exclusive(() => {
          const leases = this.lane.running();
          const script =
            o.op === 'nft-replace'
              ? renderFullScript(o.content, o.egress, o.tunnel, this.own, generation, leases)
              : renderDeltaScript(o.deltas, this.own, generation) +
                `${renderArpTable(o.content.sets.eip4, leases, this.own).join('\n')}\n`;
          return this.nft.run(script);
        });
        this.nftCache = { generation, content: o.content };
        return;
      }
      case 'nft-delete':
        this.nftCache = undefined;
        await this.lane.exclusive(() => this.nft.run(renderDeleteScript(this.own)));
        this.lane.tablesDeleted();
        return;
      default:
        return executeNetlinkOperation(this.kernel, o);
    }
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
   * Sets the lease of every held EIP (bound, or being bound by a queued apply) to end at `until`
   * (on the `now` clock of the options), in one nft transaction that only rewrites the lease
   * elements: no netlink dump, no wait for the apply queue (at most for the one nft transaction in
   * flight). A deadline earlier than the previous one shortens the lease; one already passed ends
   * it at once (reported in `failed`). The kernel lifetime of an EIP is rewritten only when it runs
   * low: less than two thirds of `lifetimeSeconds` left (default: the whole seconds to `until`, at
   * least 1), or more than a second beyond it. Call after each acknowledged heartbeat (or peer
   * acknowledgement); if calls stop, the node stops claiming the EIPs at the last deadline and the
   * kernel removes them when the lifetime runs out. Concurrent calls: the newest wins.
   *
   * @example
   * ```ts
   * const r = await binder.renewLeases(performance.now() + 700);
   * if (r.failed.length > 0) log.warn({ failed: r.failed }, 'eip lease renewal failed');
   * ```
   */
  renewLeases(until: number, options: { readonly lifetimeSeconds?: number } = {}): Promise<RenewReport> {
    if (!Number.isFinite(until)) {
      return Promise.reject(
        new DatapathError(
          'INVALID_STATE',
          `until must be a finite instant on the binder's clock, got ${until}`,
        ),
      );
    }
    const lt = options.lifetimeSeconds;
    if (lt !== undefined && (!Number.isInteger(lt) || lt < 1 || lt >= 0xffffffff)) {
      return Promise.reject(new DatapathError('INVALID_STATE', 'lifetimeSeconds must be a positive integer'));
    }
    return this.lane.renew(until, lt);
  }

  /**
   * {@link renewLeases} with a duration: the lease ends `leaseMs` after the call (default: the
   * lifetime), the kernel lifetime follows `lifetimeSeconds` (rewritten only when it runs low).
   */
  renewEips(lifetimeSeconds: number, leaseMs?: number): Promise<RenewReport> {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds >= 0xffffffff) {
      return Promise.reject(new DatapathError('INVALID_STATE', 'lifetimeSeconds must be a positive integer'));
    }
    if (leaseMs !== undefined && !(Number.isFinite(leaseMs) && leaseMs > 0)) {
      return Promise.reject(new DatapathError('INVALID_STATE', 'leaseMs must be a positive number'));
    }
    return this.lane.renew(this.now() + (leaseMs ?? lifetimeSeconds * 1000), lifetimeSeconds);
  }

  /**
   * Gives up `addresses` at once, off the apply queue: their lease elements are deleted in one nft
   * transaction (the node stops claiming them when it commits), then the bound ones are removed.
   * No apply or renewal made before this call leases or binds them again; an apply made after it
   * may. The next apply should no longer desire them (it would bind them again).
   *
   * @example
   * ```ts
   * await binder.releaseEips(['198.51.100.7']); // a peer withdraw
   * ```
   */
  releaseEips(addresses: readonly string[]): Promise<ReleaseReport> {
    const bad = addresses.find((a) => {
      try {
        normalizeAddress(a);
        return false;
      } catch {
        return true;
      }
    });
    if (bad !== undefined) {
      return Promise.reject(
        new DatapathError('INVALID_STATE', `releaseEips: ${JSON.stringify(bad)} is not an IP address`),
      );
    }
    return this.lane.release(addresses).then((r) => {
      for (const a of r.released) this.conflicts.delete(a);
      return r;
    });
  }

  /**
   * Self-fencing: removes every EIP this binder owns (on any interface) and nothing else. The
   * steering and SNAT state stays, so established flows keep working until the controller moves
   * them.
   */
  withdrawEips(): Promise<ApplyReport> {
    const req: BindRequest = { until: undefined, seq: this.lane.nextSeq() };
    return this.serial(async () => {
      const t0 = this.now();
      const observed = await this.observeNow();
      const t1 = this.now();
      const ops: DatapathOperation[] = observed.eips.map((e) => ({
        op: 'eip-del',
        address: e.address,
        interface: e.interface,
      }));
      return this.run(ops, t0, t1, [], req);
    });
  }

  /** Removes everything the binder owns: EIPs, tunnel, rules, routes, nftables table. */
  withdrawAll(): Promise<ApplyReport> {
    const egress = this.lastDesired?.egressInterface ?? 'lo';
    const req: BindRequest = { until: undefined, seq: this.lane.nextSeq() };
    return this.serial(() => this.applyNow(EMPTY_STATE(egress), req));
  }

  /** Stops background helpers and closes the netlink socket. Kernel state is left as it is. */
  close(): void {
    this.announcer.close();
    this.nft.close();
    this.kernel.close();
  }
}

function tunnelHint(desired: NodeDatapathState): { tunnelName?: string } {
  return desired.tunnel === undefined ? {} : { tunnelName: desired.tunnel.name };
}
