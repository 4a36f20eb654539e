import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BindRequest, LeaseLane } from './lease-lane.js';
import { renderArpTable } from './nft-content.js';

const E1 = '198.51.100.1';
const E2 = '198.51.100.2';
const E6 = 'fd00:51::1';

/**
 * The lease sets of the owned tables as the kernel keeps them, on a fake clock. A transaction is
 * applied whole when the test commits it (or at once in auto mode), timeouts counted from that
 * moment, like nft's. A plain add leaves an existing element's timeout alone; deleting a missing
 * element fails the whole transaction. At most one transaction may be in flight (the lane's lock).
 */
class FakeKernel {
  t = 0;
  readonly sets = new Map<string, Map<string, number>>();
  readonly pending: { script: string; at: number; done: (err?: Error) => void }[] = [];
  auto = true;
  /**
   * Count timeouts from when the transaction was handed to nft instead of from its commit: the
   * deadline as rendered, without the commit latency (for the property, which checks the lane's
   * logic; the first test checks the latency itself).
   */
  fromSubmit = false;
  runs = 0;
  lifetimeWrites: { address: string; seconds: number; at: number }[] = [];
  removed: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  now = (): number => this.t;

  nft = (script: string): Promise<void> => {
    this.runs += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        this.inFlight -= 1;
        if (err) reject(err);
        else resolve();
      };
      this.pending.push({ script, at: this.t, done });
      if (this.auto) this.commit();
    });
  };

  /** Commits the oldest pending transaction now. */
  commit(): void {
    const p = this.pending.shift();
    if (p === undefined) throw new Error('nothing pending');
    try {
      this.apply(p.script, this.fromSubmit ? p.at : this.t);
      p.done();
    } catch (e) {
      p.done(e as Error);
    }
  }

  private apply(script: string, base: number): void {
    const next = new Map([...this.sets].map(([k, v]) => [k, new Map(v)]));
    for (const line of script.split('\n')) {
      let m = /^delete table (\w+) (\S+)$/.exec(line);
      if (m) {
        for (const k of [...next.keys()]) if (k.startsWith(`${m[1]} ${m[2]} `)) next.delete(k);
        continue;
      }
      m = /^(add|delete) element (\w+ \S+ live[46]) \{ (.*) \}$/.exec(line);
      if (!m) continue;
      const [, verb, target = '', body = ''] = m;
      const set = next.get(target) ?? new Map<string, number>();
      next.set(target, set);
      for (const el of body.split(', ')) {
        const [address = '', , timeout] = el.split(' ');
        const live = (set.get(address) ?? Number.NEGATIVE_INFINITY) > this.t;
        if (verb === 'add') {
          if (!live) set.set(address, base + Number.parseInt(timeout ?? '0', 10));
        } else {
          if (!live) throw new Error(`Could not process rule: No such file or directory (${address})`);
          set.delete(address);
        }
      }
    }
    this.sets.clear();
    for (const [k, v] of next) this.sets.set(k, v);
  }

  /** When the element of `address` in `target` ends (undefined: none running). */
  end(
    address: string,
    target = address.includes(':') ? 'inet egressgateway live6' : 'inet egressgateway live4',
  ) {
    const e = this.sets.get(target)?.get(address);
    return e !== undefined && e > this.t ? e : undefined;
  }

  lane(): LeaseLane {
    return new LeaseLane({
      now: this.now,
      nft: this.nft,
      writeLifetime: async (address, _ifname, seconds) => {
        this.lifetimeWrites.push({ address, seconds, at: this.t });
      },
      removeAddress: async (address) => {
        this.removed.push(address);
      },
    });
  }
}

/** Lets every resolved promise run its continuations. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** A lane holding `eips` (bound with `lifetime` s at t = 0), as after an apply. */
function held(k: FakeKernel, eips: string[], lifetime = 30): LeaseLane {
  const lane = k.lane();
  lane.observed(
    eips.map((address) => ({ address, interface: 'eth0', validLft: lifetime })),
    k.t,
  );
  return lane;
}

/** A rebuild as the binder does it: render the running leases inside the lock, then one nft run. */
function rebuild(k: FakeKernel, lane: LeaseLane): Promise<void> {
  return lane.exclusive(() =>
    k.nft(
      `${renderArpTable([E1, E2], lane.running()).join('\n')}\ndelete table inet egressgateway\n${lane
        .running()
        .map(
          (l) =>
            `add element inet egressgateway live${l.address.includes(':') ? 6 : 4} { ${l.address} timeout ${Math.ceil(l.ms)}ms }`,
        )
        .join('\n')}\n`,
    ),
  );
}

describe('LeaseLane: deadlines', () => {
  it('turns a deadline into the nft timeout when the transaction is written, not when asked', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1, E6]);
    k.t = 1000;
    k.auto = false;
    // One nft transaction of an apply is in flight when the renewal is asked for.
    let releaseApply!: () => void;
    const apply = lane.exclusive(() => new Promise<void>((r) => (releaseApply = r)));
    const renewal = lane.renew(1500);
    await settle();
    expect(k.runs).toBe(0);
    k.t = 1120; // the apply's nft run took 120 ms
    releaseApply();
    await apply;
    await settle();
    expect(k.pending).toHaveLength(1);
    expect(k.pending[0]?.script).toContain(`${E1} timeout 380ms`);
    k.commit();
    const r = await renewal;
    expect(r.renewed.slice().sort()).toEqual([E1, E6].sort());
    // Committed at 1120 with 380 ms: it ends at the deadline asked for, in both tables.
    expect(k.end(E1)).toBe(1500);
    expect(k.end(E1, 'arp egressgateway live4')).toBe(1500);
    expect(k.end(E6)).toBe(1500);
  });

  it('a deadline already passed ends the leases at once and says so', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1]);
    k.t = 100;
    await lane.renew(600);
    expect(k.end(E1)).toBe(600);
    k.t = 200;
    const r = await lane.renew(150);
    expect(r.renewed).toEqual([]);
    expect(r.failed[0]?.error).toMatch(/deadline passed 50 ms before the renewal/);
    expect(k.end(E1)).toBeUndefined();
    expect(k.end(E1, 'arp egressgateway live4')).toBeUndefined();
  });

  it('an apply whose deadline passed while it waited leases nothing and reports how long ago', async () => {
    const k = new FakeKernel();
    const lane = k.lane();
    const req: BindRequest = { until: 300, seq: lane.nextSeq() };
    k.t = 500;
    const r = await lane.leaseForBind([E1], req, 30_000);
    expect(r.leased.size).toBe(0);
    expect(r.refused.get(E1)).toBe(200);
    expect(k.runs).toBe(0);
  });

  it('an apply without a deadline leases for the default from the write', async () => {
    const k = new FakeKernel();
    const lane = k.lane();
    const req: BindRequest = { until: undefined, seq: lane.nextSeq() };
    k.t = 500;
    const r = await lane.leaseForBind([E1], req, 2500);
    expect(r.leased.get(E1)).toBe(3000);
    expect(k.end(E1)).toBe(3000);
  });
});

describe('LeaseLane: renewals against applies (the interleavings of lease-lane.ts)', () => {
  it('(2) a rebuild in flight commits an older, later end; the renewal that shortened it is written after it and returns only then', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1]);
    await lane.renew(2000);
    k.auto = false;
    const build = rebuild(k, lane); // renders 2000 now
    await settle();
    const shorten = lane.renew(1200);
    let returned = false;
    void shorten.then(() => (returned = true));
    k.commit(); // the rebuild
    await build;
    await settle();
    expect(k.end(E1)).toBe(2000);
    expect(returned).toBe(false);
    k.commit(); // the renewal
    await shorten;
    expect(k.end(E1)).toBe(1200);
    expect(k.end(E1, 'arp egressgateway live4')).toBe(1200);
    expect(k.maxInFlight).toBe(1);
  });

  it('(3) a rebuild rendered after a shortening renewal writes the shorter end, never the older one', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1, E2]);
    await lane.renew(2000);
    await lane.renew(900);
    await rebuild(k, lane);
    expect(k.end(E1)).toBe(900);
    expect(k.end(E2, 'arp egressgateway live4')).toBe(900);
  });

  it('(4) a renewal made while an apply waits in the queue gives the EIPs it binds the renewal deadline, longer or shorter', async () => {
    for (const renewed of [1800, 1100]) {
      const k = new FakeKernel();
      const lane = held(k, [E1]);
      const req: BindRequest = { until: 1300, seq: lane.nextSeq() }; // the take-over's apply call
      k.t = 100;
      await lane.renew(renewed); // the next peer acknowledgement, before the apply reaches the bind
      k.t = 200;
      const r = await lane.leaseForBind([E2], req, 30_000);
      expect(r.leased.get(E2)).toBe(renewed);
      expect(k.end(E2)).toBe(renewed);
    }
  });

  it('an apply made after a renewal uses its own deadline', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1]);
    await lane.renew(1800);
    const req: BindRequest = { until: 1300, seq: lane.nextSeq() };
    const r = await lane.leaseForBind([E2], req, 30_000);
    expect(r.leased.get(E2)).toBe(1300);
  });

  it('a renewal covers EIPs an apply has leased but not bound yet', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1]);
    const req: BindRequest = { until: 2000, seq: lane.nextSeq() };
    await lane.leaseForBind([E2], req, 30_000);
    expect(k.end(E2)).toBe(2000);
    await lane.renew(700);
    expect(k.end(E2)).toBe(700);
    lane.bindingDone([E2]); // the bind failed: E2 is neither bound nor binding
    await lane.renew(900);
    expect(k.end(E2)).toBe(700);
  });

  it('renewals asked while the lock is busy are folded into one transaction carrying the newest deadline', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1]);
    let releaseApply!: () => void;
    const apply = lane.exclusive(() => new Promise<void>((r) => (releaseApply = r)));
    const renewals = [lane.renew(500), lane.renew(800), lane.renew(650)];
    await settle();
    const before = k.runs;
    releaseApply();
    await apply;
    await Promise.all(renewals);
    expect(k.runs - before).toBe(1);
    expect(k.end(E1)).toBe(650);
  });
});

describe('LeaseLane: releases', () => {
  it('ends the lease first (one transaction), then removes the address', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1, E2, E6]);
    await lane.renew(5000);
    const runs = k.runs;
    const r = await lane.release([E1, E6]);
    expect(r.released).toEqual([E1, E6].sort());
    expect(k.runs - runs).toBe(1);
    expect(k.end(E1)).toBeUndefined();
    expect(k.end(E1, 'arp egressgateway live4')).toBeUndefined();
    expect(k.end(E6)).toBeUndefined();
    expect(k.end(E2)).toBe(5000);
    expect(k.removed.sort()).toEqual([E1, E6].sort());
  });

  it('no renewal revives a released EIP, and no apply made before the release binds it', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1]);
    const older: BindRequest = { until: 4000, seq: lane.nextSeq() };
    await lane.release([E1]);
    await lane.renew(3000);
    expect(k.end(E1)).toBeUndefined();
    expect(lane.releasedSince(E1, older)).toBe(true);
    const r = await lane.leaseForBind([E1], older, 30_000);
    expect(r.refused.get(E1)).toBe(Number.POSITIVE_INFINITY);
    expect(k.end(E1)).toBeUndefined();
    // An apply made after the release may take it again.
    const newer: BindRequest = { until: 4000, seq: lane.nextSeq() };
    expect(lane.unleased(E1, newer)).toBe(true);
    const again = await lane.leaseForBind([E1], newer, 30_000);
    expect(again.leased.get(E1)).toBe(4000);
    expect(k.end(E1)).toBe(4000);
  });

  it('an apply removing an EIP ends its lease before the removal', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1]);
    await lane.renew(5000);
    const req: BindRequest = { until: undefined, seq: lane.nextSeq() };
    await lane.endForRemoval([E1], req);
    expect(k.end(E1)).toBeUndefined();
    await lane.renew(6000);
    expect(k.end(E1)).toBeUndefined();
  });
});

describe('LeaseLane: kernel lifetime', () => {
  it('is rewritten only when it runs low, not on every renewal', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1], 1);
    // A peer holder: renewals every 50 ms, lease 150 ms, lifetime 1 s, for 3 s.
    for (k.t = 0; k.t <= 3000; k.t += 50) {
      const r = await lane.renew(k.t + 150, 1);
      expect(r.renewed).toEqual([E1]);
    }
    const writes = k.lifetimeWrites.length;
    expect(writes).toBeGreaterThanOrEqual(8);
    expect(writes).toBeLessThanOrEqual(10);
    // Between writes the address never had less than a third of its second left.
    let lifeEnd = 1000;
    for (const w of k.lifetimeWrites) {
      expect(lifeEnd - w.at).toBeGreaterThan(300);
      lifeEnd = w.at + 1000;
    }
  });

  it('is never rewritten for an address that is gone (lifetime over) or released', async () => {
    const k = new FakeKernel();
    const lane = held(k, [E1, E2], 1);
    await lane.release([E2]);
    k.t = 1000; // E1's lifetime ran out (the process was frozen)
    const r = await lane.renew(1500, 1);
    expect(r.renewed).toEqual([]);
    expect(k.lifetimeWrites).toEqual([]);
  });
});

describe('LeaseLane: property', () => {
  it('once a request has returned, no element ends later than the newest request asked until a newer one', async () => {
    type Step =
      | { kind: 'renew'; until: number }
      | { kind: 'release' }
      | { kind: 'rebuild' }
      | { kind: 'bind'; until: number }
      | { kind: 'tick'; ms: number }
      | { kind: 'commit' };
    const step = fc.oneof(
      fc.integer({ min: 0, max: 3000 }).map((u): Step => ({ kind: 'renew', until: u })),
      fc.constant<Step>({ kind: 'release' }),
      fc.constant<Step>({ kind: 'rebuild' }),
      fc.integer({ min: 0, max: 3000 }).map((u): Step => ({ kind: 'bind', until: u })),
      fc.integer({ min: 1, max: 200 }).map((ms): Step => ({ kind: 'tick', ms })),
      fc.constant<Step>({ kind: 'commit' }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const k = new FakeKernel();
        const lane = held(k, [E1]);
        k.auto = false;
        k.fromSubmit = true;
        // The newest request about E1 (its deadline; -Infinity for a release) and whether it returned.
        let newest = { until: Number.NEGATIVE_INFINITY, done: true, id: 0 };
        let id = 0;
        const inFlight: Promise<unknown>[] = [];
        const track = (until: number, p: Promise<unknown>): void => {
          const mine = ++id;
          newest = { until, done: false, id: mine };
          inFlight.push(
            p.then(
              () => {
                if (newest.id === mine) newest.done = true;
              },
              () => undefined,
            ),
          );
        };
        const check = (): void => {
          const end = k.end(E1) ?? Number.NEGATIVE_INFINITY;
          if (newest.done) expect(end).toBeLessThanOrEqual(Math.max(newest.until, k.t));
        };
        for (const s of steps) {
          if (s.kind === 'renew') track(s.until, lane.renew(s.until));
          else if (s.kind === 'release') track(Number.NEGATIVE_INFINITY, lane.release([E1]));
          else if (s.kind === 'rebuild') inFlight.push(rebuild(k, lane).catch(() => undefined));
          else if (s.kind === 'bind') {
            // An apply binding E1 again, made now: a request like any other. Applies lease only
            // EIPs they bind (or hold without a lease): E1 must have been released.
            if (newest.until !== Number.NEGATIVE_INFINITY || newest.id === 0) continue;
            const req: BindRequest = { until: s.until, seq: lane.nextSeq() };
            track(
              s.until,
              lane.leaseForBind([E1], req, 30_000).then((r) => {
                if (r.leased.has(E1)) lane.noteBound(E1, 'eth0', 30, k.t);
                lane.bindingDone([E1]);
              }),
            );
          } else if (s.kind === 'tick') k.t += s.ms;
          else if (k.pending.length > 0) k.commit();
          await settle();
          check();
        }
        k.auto = true;
        while (k.pending.length > 0) k.commit();
        for (let i = 0; i < 5; i++) {
          await settle();
          while (k.pending.length > 0) k.commit();
        }
        await Promise.all(inFlight);
        check();
        expect(k.maxInFlight).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
