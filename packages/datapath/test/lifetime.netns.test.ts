import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyReport, NodeDatapathState, ReleaseReport, RenewReport } from '../src/index.js';
import { type Driver, isRoot, Lab, skipReason, sleep, tryRun, waitFor } from './lab.js';

if (!isRoot) console.warn(skipReason);

const EIP4 = '198.18.0.70';
const EIP6 = 'fd00:18::70';

describe.skipIf(!isRoot)('EIP kernel lifetime (dead man switch)', () => {
  const lab = new Lab();
  let gw: string;
  let peer: string;
  let driver: Driver;
  const state: NodeDatapathState = {
    egressInterface: 'eth0',
    markRoutes: [],
    eips: [EIP4, EIP6],
    steering: [],
    snat: [],
  };
  const has = (addr: string): boolean => lab.ip(gw, 'addr', 'show', 'dev', 'eth0').includes(`${addr}/`);

  beforeAll(async () => {
    gw = lab.ns('gw');
    peer = lab.ns('peer');
    lab.veth(gw, 'eth0', peer, 'eth0');
    lab.ip(gw, 'addr', 'add', '198.18.0.11/24', 'dev', 'eth0');
    lab.ip(peer, 'addr', 'add', '198.18.0.12/24', 'dev', 'eth0');
    driver = await lab.driver(gw, { eipLifetimeSeconds: 2, announce: false, probeAfterBind: false });
  });

  afterAll(async () => {
    await driver?.close().catch(() => undefined);
    lab.teardown();
  });

  it('renewals keep IPv4 and IPv6 EIPs alive past their lifetime; a renewal restarts the clock', async () => {
    const r = await driver.call<ApplyReport>('apply', state);
    expect(r.ok).toBe(true);
    expect(has(EIP4) && has(EIP6)).toBe(true);
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      const renew = await driver.call<RenewReport>('renewEips', 2);
      expect([...renew.renewed].sort()).toEqual([EIP4, EIP6].sort());
    }
    // 3 s after binding with a 2 s lifetime: only the renewals can have kept them.
    expect(has(EIP4)).toBe(true);
    expect(has(EIP6)).toBe(true);
  }, 15_000);

  it('the kernel removes the EIPs by itself while the agent process is stopped (SIGSTOP)', async () => {
    await driver.call<RenewReport>('renewEips', 2);
    const pid = await driver.call<number>('pid');
    process.kill(pid, 'SIGSTOP');
    try {
      await sleep(1000);
      expect(has(EIP4)).toBe(true); // not yet expired
      // Only the kernel can remove them now: the binder process is frozen.
      expect(await waitFor(() => !has(EIP4) && !has(EIP6), 4000, 100)).toBe(true);
      expect(has('198.18.0.11')).toBe(true); // the node's own address has no lifetime
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Back from the freeze, the binder sees nothing left to renew and a fresh apply rebinds.
    const renew = await driver.call<RenewReport>('renewEips', 2);
    expect(renew.renewed).toEqual([]);
    const again = await driver.call<ApplyReport>('apply', state);
    expect(again.applied.map((a) => a.operation.op)).toEqual(['eip-add', 'eip-add']);
  }, 15_000);

  it('an apply given a lease binds new EIPs with that lease, counted from the call, not the default', async () => {
    await driver.call<ApplyReport>('apply', { ...state, eips: [] });
    expect(has(EIP4) || has(EIP6)).toBe(false);
    // The binder's default lease is 2 s (its lifetime); the caller has 1.2 s left before its
    // deadline (long enough that a loaded machine still lists the element before it expires).
    const called = performance.now();
    const r = await driver.call<ApplyReport>('apply', state, { leaseMs: 1200 });
    const returned = performance.now();
    expect(r.ok).toBe(true);
    expect(has(EIP4) && has(EIP6)).toBe(true);
    const left = (set: string, address: string): number => {
      const listed = lab.exec(gw, 'nft', ['list', 'set', 'inet', 'egressgateway', set]);
      const m = new RegExp(
        `${address.replace(/[.:]/g, '\\$&')} timeout \\S+ expires (?:(\\d+)s)?(?:(\\d+)ms)?`,
      ).exec(listed);
      expect(m, `${address} in ${set}:\n${listed}`).not.toBeNull();
      return Number(m?.[1] ?? 0) * 1000 + Number(m?.[2] ?? 0);
    };
    const elapsed = performance.now() - called;
    for (const [set, address] of [
      ['live4', EIP4],
      ['live6', EIP6],
    ] as const) {
      // What is left is at most the 1.2 s minus the time since the call (plus the kernel's rounding).
      expect(left(set, address)).toBeLessThanOrEqual(1200 - (elapsed - (returned - called)) + 20);
      expect(left(set, address)).toBeGreaterThan(0);
    }
    // The kernel lifetime of the new addresses is the whole seconds left, at least 1 (not the 2 s default).
    expect(lab.ip(gw, 'addr', 'show', 'dev', 'eth0', 'to', EIP4)).toMatch(/valid_lft [01]sec/);
  }, 15_000);

  it('an apply whose lease already ended binds nothing and says why', async () => {
    await driver.call<ApplyReport>('apply', { ...state, eips: [] });
    const r = await driver.call<ApplyReport>('apply', state, { leaseMs: 0 });
    expect(r.ok).toBe(false);
    expect(r.failed?.operation.op).toBe('eip-add');
    expect(r.failed?.error).toContain('lease given to apply() ended');
    expect(has(EIP4) || has(EIP6)).toBe(false);
  }, 15_000);

  /** The kernel lifetime these tests keep (the binder's default is 2 s). */
  const LONG = { lifetimeSeconds: 10 };

  /** True when the gateway answers one ARP request for `address` from the peer. */
  const answersArp = (address: string): boolean =>
    tryRun('ip', ['netns', 'exec', peer, 'arping', '-c', '1', '-w', '1', '-I', 'eth0', address]).status === 0;

  /** A state whose apply takes a while: 3,000 steering rules (a large nft transaction) and two binds. */
  const heavy = (eips: string[]): NodeDatapathState => ({
    ...state,
    eips,
    steering: Array.from({ length: 3000 }, (_, i) => ({
      id: `p${i}`,
      sources: [`198.19.${Math.floor(i / 250)}.${i % 250}/32`],
      destinations: [`203.0.113.${i % 250}/32`],
      mark: 0x26000100 + (i % 10),
    })),
  });

  it('a lease renewal completes while an apply is in flight, and covers the EIPs that apply binds', async () => {
    await driver.call<ApplyReport>('apply', state);
    const extra = ['198.18.0.71', 'fd00:18::71'];
    let applyDone: number | undefined;
    const apply = driver
      .call<ApplyReport>('applyUntilIn', heavy([...state.eips, ...extra]), 5000)
      .then((r) => {
        applyDone = performance.now();
        return r;
      });
    const renew = await driver.call<RenewReport>('renewLeasesIn', 8000);
    const renewDone = performance.now();
    expect([...renew.renewed].sort()).toEqual([EIP4, EIP6].sort());
    const applied = await apply;
    expect(applied.ok).toBe(true);
    // The renewal did not wait for the apply (the old binder ran it after the whole apply).
    expect(applyDone).toBeDefined();
    expect(renewDone).toBeLessThan(applyDone as number);
    expect(renew.ms).toBeLessThan(applied.totalMs);
    // The apply was called before the renewal: the EIPs it bound got the renewal's (newer) deadline.
    const listed = lab.exec(gw, 'nft', ['list', 'set', 'inet', 'egressgateway', 'live4']);
    const m = /198\.18\.0\.71 timeout (\d+)s/.exec(listed);
    expect(m, listed).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(7);
    await driver.call<ApplyReport>('apply', state);
  }, 30_000);

  it('a renewal with a deadline that then passes stops ARP for the EIP while it stays bound; a later one restores it', async () => {
    await driver.call<ApplyReport>('apply', state);
    await driver.call<RenewReport>('renewLeasesIn', 10_000, LONG);
    expect(answersArp(EIP4)).toBe(true);
    const short = await driver.call<RenewReport>('renewLeasesIn', 300, LONG);
    expect([...short.renewed].sort()).toEqual([EIP4, EIP6].sort());
    await sleep(500);
    expect(has(EIP4)).toBe(true);
    expect(answersArp(EIP4)).toBe(false);
    // A deadline already in the past ends the lease at once and says so.
    const past = await driver.call<RenewReport>('renewLeasesIn', -50, LONG);
    expect(past.renewed).toEqual([]);
    expect(past.failed[0]?.error).toMatch(/deadline passed/);
    await driver.call<RenewReport>('renewLeasesIn', 10_000, LONG);
    expect(answersArp(EIP4)).toBe(true);
  }, 20_000);

  it('releaseEips silences and removes one EIP at once, without an apply; the other keeps answering', async () => {
    await driver.call<ApplyReport>('apply', state);
    await driver.call<RenewReport>('renewLeasesIn', 10_000, LONG);
    const r = await driver.call<ReleaseReport>('releaseEips', [EIP4]);
    expect(r.released).toEqual([EIP4]);
    expect(has(EIP4)).toBe(false);
    expect(has(EIP6)).toBe(true);
    expect(answersArp(EIP4)).toBe(false);
    expect(lab.exec(gw, 'nft', ['list', 'set', 'arp', 'egressgateway', 'live4'])).not.toContain(EIP4);
    // A renewal does not bring a released EIP back; an apply made afterwards binds it again.
    await driver.call<RenewReport>('renewLeasesIn', 10_000, LONG);
    expect(has(EIP4)).toBe(false);
    const again = await driver.call<ApplyReport>('applyUntilIn', state, 10_000);
    expect(again.ok).toBe(true);
    expect(has(EIP4)).toBe(true);
    expect(answersArp(EIP4)).toBe(true);
  }, 20_000);
});
