import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyReport, NodeDatapathState, RenewReport } from '../src/index.js';
import { type Driver, isRoot, Lab, skipReason, sleep, waitFor } from './lab.js';

if (!isRoot) console.warn(skipReason);

const EIP4 = '198.18.0.70';
const EIP6 = 'fd00:18::70';

describe.skipIf(!isRoot)('EIP kernel lifetime (dead man switch)', () => {
  const lab = new Lab();
  let gw: string;
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
    const peer = lab.ns('peer');
    lab.veth(gw, 'eth0', peer, 'eth0');
    lab.ip(gw, 'addr', 'add', '198.18.0.11/24', 'dev', 'eth0');
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
});
