import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinkState } from '../src/index.js';
import { type Driver, isRoot, Lab, skipReason } from './lab.js';

if (!isRoot) console.warn(skipReason);

// The agent hands its EIPs over when its egress link dies while its path to the API server works
// (issue 21: otherwise it heartbeats on and nothing moves). This is the kernel side: rtnetlink
// link notifications for one interface, in a namespace of our own.
describe.skipIf(!isRoot)('watchLink in network namespaces', () => {
  const lab = new Lab();
  let gw: string;
  let lan: string;
  let driver: Driver;
  let changes: () => Promise<LinkState[]>;

  beforeAll(async () => {
    gw = lab.ns('gw');
    lan = lab.ns('lan');
    lab.veth(gw, 'eth0', lan, 'eth0');
    driver = await lab.driver(gw, {});
    changes = () => driver.call<LinkState[]>('linkChanges');
  });

  afterAll(async () => {
    await driver?.close().catch(() => undefined);
    lab.teardown();
  });

  /** The changes reported so far, once there are `n` (or after 5 s). */
  const settle = async (n: number) => {
    let seen: LinkState[] = [];
    for (let i = 0; i < 250 && seen.length < n; i++) {
      seen = await changes();
      if (seen.length < n) await new Promise((r) => setTimeout(r, 20));
    }
    return seen;
  };

  it('reports the initial state, then carrier loss and return when the far end goes down and up', async () => {
    expect(await driver.call<LinkState>('watchLink', 'eth0')).toEqual({ name: 'eth0', usable: true });
    lab.ip(lan, 'link', 'set', 'eth0', 'down');
    expect((await settle(1))[0]).toEqual({ name: 'eth0', usable: false, reason: 'no-carrier' });
    lab.ip(lan, 'link', 'set', 'eth0', 'up');
    expect((await settle(2))[1]).toEqual({ name: 'eth0', usable: true });
  });

  it('reports an administrative down and a deleted interface', async () => {
    lab.ip(gw, 'link', 'set', 'eth0', 'down');
    expect((await settle(3))[2]).toEqual({ name: 'eth0', usable: false, reason: 'admin-down' });
    lab.ip(gw, 'link', 'set', 'eth0', 'up');
    expect((await settle(4))[3]).toEqual({ name: 'eth0', usable: true });
    lab.ip(gw, 'link', 'del', 'eth0');
    expect((await settle(5))[4]).toEqual({ name: 'eth0', usable: false, reason: 'missing' });
  });
});
