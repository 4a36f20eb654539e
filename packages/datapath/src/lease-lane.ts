import { canonicalIpOrThrow, familyOf } from '@egressgateway/netaddr';
import type { ReleaseReport, RenewReport } from './binder-types.js';
import { DEFAULT_OWNERSHIP, type Ownership } from './model.js';
import { type EipLease, renderLeaseLines } from './nft-content.js';

/** What the lane needs from the kernel side (the binder passes nft and netlink; tests pass fakes). */
export interface LeaseLaneDeps {
  /** Monotonic ms; every deadline is on this clock. */
  now(): number;
  /** Runs one nft transaction (`nft -f -`); rejects when nft refuses it. */
  nft(script: string): Promise<void>;
  /** Sets the kernel lifetime of a bound EIP (RTM_NEWADDR replace). */
  writeLifetime(address: string, ifname: string, seconds: number): Promise<void>;
  /** Removes a bound EIP (tolerates an address already gone). */
  removeAddress(address: string, ifname: string): Promise<void>;
  readonly own?: Ownership;
}

/**
 * The newest request about one EIP's lease: a deadline (`until`, on the lane's clock) or, with
 * `ended`, a release (a tombstone that no older request may undo). `seq` orders requests by the
 * moment they were made (a call to `apply`, `renewLeases`, `releaseEips`), not by when they reach
 * the kernel.
 */
interface Ask {
  readonly until: number;
  readonly seq: number;
  readonly ended: boolean;
}

/** A lease request of an `apply` call: its deadline (undefined: `defaultMs` from the bind) and its place in line. */
export interface BindRequest {
  readonly until: number | undefined;
  readonly seq: number;
}

/** An address whose kernel lifetime the lane may refresh. */
interface Bound {
  readonly ifname: string;
  /** When the kernel removes it (lane clock), estimated low. */
  lifeEnd: number;
}

/** Below this much lifetime left an address counts as gone (the kernel removes it up to 20 ms early). */
const LIFETIME_GUARD_MS = 100;

/**
 * The EIP leases of one binder, written without waiting for the apply queue.
 *
 * Every writer of lease elements (a renewal, a release, an apply's bind or rebuild) renders the
 * timeouts from the newest requests *inside* one lock around the nft run ({@link exclusive}), so
 * the nft transactions reach the kernel one at a time and each carries what was asked last when it
 * was rendered. A renewal waits for at most the one nft transaction in flight, never for an
 * apply's netlink dumps, planning or binds.
 *
 * Interleavings (R: a renewal or release, A: an apply that rebuilds the tables or leases the EIPs
 * it binds; "asks" are recorded synchronously when the call is made):
 *
 * 1. R asks, then A renders: A writes R's deadline (shorter or longer). R's own write follows
 *    (or was folded into an earlier one) and writes the same value.
 * 2. A renders, then R asks while A's nft runs: A commits the older value; R's write is rendered
 *    after A's commit (it waits for the lock) and writes R's value. Between A's commit and R's
 *    commit the element may end later than R asked: R has not returned yet, and nothing written
 *    after R's commit ends later than R asked.
 * 3. R renders and commits, then A renders: A renders from the newest asks, which include R's: a
 *    rebuild never writes back an older (later) deadline.
 * 4. A was called before R and binds EIPs after R: the bind uses R's deadline (the newest request
 *    wins, {@link effective}), so a renewal issued while a take-over is queued carries over to it.
 * 5. A release (tombstone) newer than A: A neither leases nor binds that EIP; a renewal never
 *    revives a released EIP, only an apply called after the release does.
 * 6. A lifetime refresh never re-creates a removed address: refreshes and removals take one more
 *    lock ({@link withAddress}), a removal first drops the address from the bound set, and a
 *    refresh skips released EIPs and addresses whose lifetime has (nearly) run out.
 *
 * Still true, as with any nft write: the kernel counts a timeout from its commit, so an element
 * ends up to one nft run (a few ms) after the deadline it was rendered for.
 */
export class LeaseLane {
  private readonly own: Ownership;
  private seq = 0;
  private written = 0;
  private readonly asks = new Map<string, Ask>();
  /** The newest renewal of every held EIP; also the lease of EIPs bound by an older apply. */
  private renewAll: Ask | undefined;
  private readonly dirty = new Set<string>();
  private readonly bound = new Map<string, Bound>();
  /** Leased by an apply, not bound yet: renewals cover them too. */
  private readonly binding = new Set<string>();
  private nftChain: Promise<unknown> = Promise.resolve();
  private addrChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: LeaseLaneDeps) {
    this.own = deps.own ?? DEFAULT_OWNERSHIP;
  }

  /** A place in line for a request made now. */
  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** Runs `fn` (an nft run) alone among the lease writers. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.nftChain.then(fn, fn);
    this.nftChain = run.catch(() => undefined);
    return run;
  }

  /** Runs `fn` (an address write or removal) alone among the address writers of the lane. */
  withAddress<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.addrChain.then(fn, fn);
    this.addrChain = run.catch(() => undefined);
    return run;
  }

  /** Leases still running (for a table rebuild, rendered inside {@link exclusive}). */
  running(): EipLease[] {
    const now = this.deps.now();
    const out: EipLease[] = [];
    for (const [address, a] of this.asks) {
      if (!a.ended && a.until > now && (this.bound.has(address) || this.binding.has(address)))
        out.push({ address, ms: a.until - now });
    }
    return out;
  }

  /** The kernel's EIPs as an observe saw them at `at` (`validLft` seconds left, null: forever). */
  observed(
    eips: readonly { address: string; interface: string; validLft: number | null }[],
    at: number,
  ): void {
    this.bound.clear();
    for (const e of eips) {
      const lifeEnd = e.validLft === null ? Number.POSITIVE_INFINITY : at + e.validLft * 1000;
      this.bound.set(e.address, { ifname: e.interface, lifeEnd });
    }
  }

  /** An apply bound `address` with a kernel lifetime of `seconds`, written at `at`. */
  noteBound(address: string, ifname: string, seconds: number, at: number): void {
    this.binding.delete(address);
    this.bound.set(address, { ifname, lifeEnd: at + seconds * 1000 });
  }

  /** The apply that leased `addresses` is over (bound or not). */
  bindingDone(addresses: readonly string[]): void {
    for (const a of addresses) this.binding.delete(a);
  }

  /**
   * The lease an apply made with `req` gives `address` now: the newest request about it wins; a
   * release newer than the apply means no lease (`ended`).
   */
  effective(address: string, req: BindRequest, defaultMs: number): Ask {
    const a = this.asks.get(address);
    if (a?.ended === true && a.seq > req.seq) return a;
    let best: Ask = { until: req.until ?? this.deps.now() + defaultMs, seq: req.seq, ended: false };
    if (this.renewAll !== undefined && this.renewAll.seq > best.seq) best = this.renewAll;
    if (a !== undefined && !a.ended && a.seq > best.seq) best = a;
    return best;
  }

  /** True when a release newer than `req` ended `address`'s lease. */
  releasedSince(address: string, req: BindRequest): boolean {
    const a = this.asks.get(address);
    return a?.ended === true && a.seq > req.seq;
  }

  /**
   * True when `address` (held) has no lease the lane knows of for `req` to respect: never leased
   * by this binder (a previous run's EIP) or released before `req` was made.
   */
  unleased(address: string, req: BindRequest): boolean {
    const a = this.asks.get(address);
    return a === undefined || (a.ended && a.seq < req.seq);
  }

  /**
   * Leases `addresses` for an apply (one nft transaction, before the first bind) and returns the
   * deadline each got; an address whose lease is over (`until <= now`, or released since) is left
   * out, with how long ago it ended (`Infinity` for a release).
   */
  async leaseForBind(
    addresses: readonly string[],
    req: BindRequest,
    defaultMs: number,
  ): Promise<{ leased: Map<string, number>; refused: Map<string, number> }> {
    return this.exclusive(async () => {
      const now = this.deps.now();
      const leased = new Map<string, number>();
      const refused = new Map<string, number>();
      const leases: EipLease[] = [];
      for (const address of addresses) {
        const e = this.effective(address, req, defaultMs);
        if (e.ended) refused.set(address, Number.POSITIVE_INFINITY);
        else if (e.until <= now) refused.set(address, now - e.until);
        else {
          leased.set(address, e.until);
          leases.push({ address, ms: e.until - now });
          this.asks.set(address, e);
          this.binding.add(address);
        }
      }
      if (leases.length > 0) await this.deps.nft(`${renderLeaseLines(leases, this.own).join('\n')}\n`);
      return { leased, refused };
    });
  }

  /**
   * Sets the lease of every held EIP (bound, or being bound by an apply) to `until`, in one nft
   * transaction written as soon as the one in flight (if any) is done; refreshes the kernel
   * lifetime of those whose lifetime runs low (less than two thirds of `lifetimeSeconds` left).
   * A deadline already passed ends the leases at once.
   */
  async renew(until: number, lifetimeSeconds?: number): Promise<RenewReport> {
    const t0 = this.deps.now();
    const seq = this.nextSeq();
    const ask: Ask = { until, seq, ended: false };
    this.renewAll = ask;
    const targets: string[] = [];
    const gone: string[] = [];
    for (const [address, b] of this.bound) {
      if (this.asks.get(address)?.ended === true) continue;
      if (b.lifeEnd - t0 <= LIFETIME_GUARD_MS) gone.push(address);
      else targets.push(address);
    }
    for (const address of gone) this.bound.delete(address);
    for (const address of this.binding) if (this.asks.get(address)?.ended !== true) targets.push(address);
    for (const address of targets) {
      this.asks.set(address, ask);
      this.dirty.add(address);
    }
    const failed: { address: string; error: string }[] = [];
    try {
      await this.flush(seq);
    } catch (err) {
      const error = `lease not renewed: ${err instanceof Error ? err.message : String(err)}`;
      return {
        renewed: [],
        failed: targets.map((address) => ({ address, error })),
        ms: this.deps.now() - t0,
      };
    }
    if (until <= t0) {
      const error = `the deadline passed ${Math.round(t0 - until)} ms before the renewal: lease ended now`;
      return {
        renewed: [],
        failed: targets.map((address) => ({ address, error })),
        ms: this.deps.now() - t0,
      };
    }
    const seconds = lifetimeSeconds ?? Math.max(1, Math.floor((until - t0) / 1000));
    await Promise.all(
      targets.map((address) =>
        this.refreshLifetime(address, seconds).catch((err: unknown) => {
          failed.push({
            address,
            error: `lifetime not renewed: ${err instanceof Error ? err.message : String(err)}`,
          });
        }),
      ),
    );
    const bad = new Set(failed.map((f) => f.address));
    return { renewed: targets.filter((a) => !bad.has(a)), failed, ms: this.deps.now() - t0 };
  }

  /**
   * Ends the leases of `addresses` at once (one nft transaction deleting their elements), then
   * removes the bound ones. No apply or renewal made before this call leases or binds them again.
   */
  async release(addresses: readonly string[]): Promise<ReleaseReport> {
    const t0 = this.deps.now();
    const seq = this.nextSeq();
    const list = [...new Set(addresses.map((a) => canonicalIpOrThrow(a)))];
    for (const address of list) {
      this.asks.set(address, { until: Number.NEGATIVE_INFINITY, seq, ended: true });
      this.dirty.add(address);
    }
    try {
      await this.flush(seq);
    } catch (err) {
      const error = `lease not ended: ${err instanceof Error ? err.message : String(err)}`;
      return { released: [], failed: list.map((address) => ({ address, error })), ms: this.deps.now() - t0 };
    }
    const released: string[] = [];
    const failed: { address: string; error: string }[] = [];
    await Promise.all(
      list.map(async (address) => {
        try {
          await this.remove(address);
          released.push(address);
        } catch (err) {
          failed.push({ address, error: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
    return { released: released.sort(), failed, ms: this.deps.now() - t0 };
  }

  /**
   * An apply is about to remove `addresses` (its `eip-del`s): their leases end first, in one nft
   * transaction; `req` is the apply's place in line (an apply made after it may bind them again).
   */
  async endForRemoval(addresses: readonly string[], req: BindRequest): Promise<void> {
    for (const address of addresses) {
      const a = this.asks.get(address);
      // Already ended (released, or the tables were deleted): its element is gone or a write
      // deleting it is pending. The tombstone keeps the newer of the two places in line.
      if (a?.ended === true) {
        if (a.seq < req.seq) this.asks.set(address, { ...a, seq: req.seq });
        continue;
      }
      this.asks.set(address, { until: Number.NEGATIVE_INFINITY, seq: req.seq, ended: true });
      this.dirty.add(address);
    }
    await this.flush(this.seq);
  }

  /** Removes a bound address (no lifetime refresh can re-create it afterwards). */
  remove(address: string, ifname?: string): Promise<void> {
    return this.withAddress(async () => {
      const b = this.bound.get(address);
      this.bound.delete(address);
      const dev = ifname ?? b?.ifname;
      if (dev !== undefined) await this.deps.removeAddress(address, dev);
    });
  }

  /** The apply removed `address` itself. */
  forget(address: string): void {
    this.bound.delete(address);
    this.binding.delete(address);
  }

  /** The owned tables are gone (withdrawAll): every lease with them. */
  tablesDeleted(): void {
    for (const [address, a] of this.asks) {
      if (!a.ended) this.asks.set(address, { ...a, until: Number.NEGATIVE_INFINITY, ended: true });
    }
    this.dirty.clear();
  }

  private async refreshLifetime(address: string, seconds: number): Promise<void> {
    await this.withAddress(async () => {
      const b = this.bound.get(address);
      if (b === undefined || this.asks.get(address)?.ended === true) return;
      const now = this.deps.now();
      const left = b.lifeEnd - now;
      if (left <= LIFETIME_GUARD_MS) return;
      const want = seconds * 1000;
      // Running low, or far longer than asked (a shortened lease should not leave the address for long).
      if (left >= (want * 2) / 3 && left <= want + 1000) return;
      await this.deps.writeLifetime(address, b.ifname, seconds);
      b.lifeEnd = now + want;
    });
  }

  /**
   * Writes the dirty leases in one transaction unless one rendered after request `seq` already
   * committed; waits for at most the nft run in flight.
   */
  private async flush(seq: number): Promise<void> {
    while (this.written < seq) {
      await this.exclusive(async () => {
        if (this.written >= seq) return;
        const upTo = this.seq;
        const items = [...this.dirty];
        this.dirty.clear();
        const script = this.render(items);
        try {
          if (script !== '') await this.deps.nft(script);
        } catch (err) {
          for (const a of items) this.dirty.add(a);
          throw err;
        }
        this.written = Math.max(this.written, upTo);
      });
    }
  }

  private render(addresses: readonly string[]): string {
    const now = this.deps.now();
    const live: EipLease[] = [];
    const end: string[] = [];
    for (const address of addresses) {
      const a = this.asks.get(address);
      if (a === undefined) continue;
      if (!a.ended && a.until > now) live.push({ address, ms: a.until - now });
      else end.push(address);
    }
    const lines = [...renderLeaseEndLines(end, this.own), ...renderLeaseLines(live, this.own)];
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }
}

/**
 * Script lines deleting the lease elements of `addresses` in both owned tables; each delete is
 * preceded by an add, so a missing element is no error.
 */
export function renderLeaseEndLines(
  addresses: readonly string[],
  own: Ownership = DEFAULT_OWNERSHIP,
): string[] {
  const lines: string[] = [];
  for (const raw of addresses) {
    const address = canonicalIpOrThrow(raw);
    const family = familyOf(address);
    const targets = [`inet ${own.nftTable} live${family}`];
    if (family === 4) targets.push(`arp ${own.nftTable} live4`);
    for (const t of targets)
      lines.push(`add element ${t} { ${address} timeout 60s }`, `delete element ${t} { ${address} }`);
  }
  return lines;
}
