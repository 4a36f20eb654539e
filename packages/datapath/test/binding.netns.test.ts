import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyReport, NodeDatapathState, ObservedState } from '../src/index.js';
import { type Driver, isRoot, Lab, skipReason, sleep, tryRun, waitFor } from './lab.js';

if (!isRoot) console.warn(skipReason);

const EIP4 = '198.18.0.50';
const EIP6 = 'fd00:18::50';
const FOREIGN4 = '198.18.0.60';
const GW_MAC = '02:00:00:00:00:11';
const FAKE_MAC = '02:00:00:00:00:99';

describe.skipIf(!isRoot)('EIP binding in network namespaces', () => {
  const lab = new Lab();
  let gw: string;
  let ext: string;
  let driver: Driver;

  const state = (eips: string[]): NodeDatapathState => ({
    egressInterface: 'eth0',
    markRoutes: [],
    eips,
    steering: [],
    snat: [],
  });
  const extMac = (): string | undefined =>
    /link\/ether ([0-9a-f:]{17})/.exec(lab.ip(ext, 'link', 'show', 'eth0'))?.[1];
  const neighMac = (ip: string): string | undefined =>
    /lladdr ([0-9a-f:]{17})/.exec(tryRun('ip', ['-n', ext, 'neigh', 'show', ip, 'dev', 'eth0']).stdout)?.[1];

  beforeAll(async () => {
    gw = lab.ns('gw');
    ext = lab.ns('ext');
    lab.veth(gw, 'eth0', ext, 'eth0', GW_MAC);
    lab.ip(gw, 'addr', 'add', '198.18.0.11/24', 'dev', 'eth0');
    lab.ip(gw, 'addr', 'add', 'fd00:18::11/64', 'dev', 'eth0', 'nodad');
    lab.ip(gw, 'addr', 'add', `${FOREIGN4}/32`, 'dev', 'eth0');
    lab.ip(ext, 'addr', 'add', '198.18.0.100/24', 'dev', 'eth0');
    lab.ip(ext, 'addr', 'add', 'fd00:18::100/64', 'dev', 'eth0', 'nodad');
    // Stale entries pointing elsewhere: an announcement must switch them to the gateway's MAC.
    lab.ip(ext, 'neigh', 'replace', EIP4, 'lladdr', FAKE_MAC, 'dev', 'eth0', 'nud', 'stale');
    lab.ip(ext, 'neigh', 'replace', EIP6, 'lladdr', FAKE_MAC, 'dev', 'eth0', 'nud', 'stale');
    // The link-local addresses stay tentative for a moment after the link comes up (DAD, 1.7 s
    // measured); a neighbour solicitation probe sent before then goes nowhere, and the conflict test
    // below waited on a probe that never left (its IPv6 half failed now and then).
    const tentative = () =>
      [gw, ext].some((ns) => lab.ip(ns, '-6', 'addr', 'show', 'dev', 'eth0', 'tentative').trim() !== '');
    for (let i = 0; i < 50 && tentative(); i++) await sleep(100);
    driver = await lab.driver(gw, { eipLifetimeSeconds: 30, announce: { count: 2, repeatAfterMs: 2000 } });
  });

  afterAll(async () => {
    await driver?.close().catch(() => undefined);
    lab.teardown();
  });

  it('binds marked EIPs with a finite lifetime and announces them (GARP and unsolicited NA seen by the peer)', async () => {
    const capture = lab.spawn(ext, 'tcpdump', ['-i', 'eth0', '-n', '-l', '-e', 'arp or icmp6']);
    let captured = '';
    capture.stdout?.on('data', (b: Buffer) => {
      captured += b.toString();
    });
    await sleep(400); // tcpdump needs a moment to attach
    const report = await driver.call<ApplyReport>('apply', state([EIP4, EIP6]));
    expect(report.ok).toBe(true);
    // The first apply also creates the owned nftables table (inbound protection of the EIPs).
    expect(report.applied.map((a) => a.text.replace(/structure \w+/, 'structure S'))).toEqual([
      'nft-replace structure S',
      `eip-add ${EIP4} dev eth0`,
      `eip-add ${EIP6} dev eth0`,
    ]);
    expect(report.announced.map((a) => a.via)).toEqual(['arping', 'perl-na']);

    const addrs = lab.ip(gw, '-d', 'addr', 'show', 'dev', 'eth0');
    expect(addrs).toMatch(new RegExp(`inet ${EIP4}/32 .*\\n\\s+valid_lft (2\\d|30)sec`));
    expect(addrs).toMatch(/inet6 fd00:18::50\/128 .*\n\s+valid_lft (2\d|30)sec/);
    // IFA_PROTO marks them ours; the pre-existing address is foreign.
    const observed = await driver.call<ObservedState>('observe', { egressInterface: 'eth0' });
    expect(observed.eips.map((e) => e.address).sort()).toEqual([EIP4, EIP6].sort());
    expect(observed.foreignAddresses.map((a) => a.address)).toContain(FOREIGN4);

    expect(await waitFor(() => neighMac(EIP4) === GW_MAC, 2000)).toBe(true);
    expect(await waitFor(() => neighMac(EIP6) === GW_MAC, 2000)).toBe(true);
    const garp = new RegExp(
      `${GW_MAC} > ff:ff:ff:ff:ff:ff, ethertype ARP.*Request who-has ${EIP4} \\(ff:ff:ff:ff:ff:ff\\) tell ${EIP4}`,
    );
    const una = new RegExp(
      `${GW_MAC} > 33:33:00:00:00:01.* ${EIP6} > ff02::1: ICMP6, neighbor advertisement, tgt is ${EIP6}`,
    );
    await waitFor(() => garp.test(captured) && una.test(captured), 3000);
    capture.kill();
    expect(captured).toMatch(garp);
    expect(captured).toMatch(una);
  });

  it('a second apply changes nothing', async () => {
    const report = await driver.call<ApplyReport>('apply', state([EIP4, EIP6]));
    expect(report.ok).toBe(true);
    expect(report.applied).toEqual([]);
  });

  it('withdrawEips removes only our EIPs; a foreign address on the same interface survives', async () => {
    const report = await driver.call<ApplyReport>('withdrawEips');
    expect(report.ok).toBe(true);
    const addrs = lab.ip(gw, 'addr', 'show', 'dev', 'eth0');
    expect(addrs).not.toContain(`${EIP4}/32`);
    expect(addrs).not.toContain('fd00:18::50/128');
    expect(addrs).toContain(`${FOREIGN4}/32`);
    expect(addrs).toContain('198.18.0.11/24');
  });

  it('detects another owner of a bound EIP on the LAN (IPv4 and IPv6) and reports it', async () => {
    // The peer already answers for these addresses: a duplicate the binder must report.
    lab.ip(ext, 'addr', 'add', '198.18.0.55/32', 'dev', 'eth0');
    lab.ip(ext, 'addr', 'add', 'fd00:18::55/128', 'dev', 'eth0', 'nodad');
    const bound = await driver.call<ApplyReport>('apply', state(['198.18.0.55', 'fd00:18::55']));
    expect(bound.ok).toBe(true);
    expect(bound.conflicts).toEqual([]); // binding never waits for the probe
    // Addresses reported through onConflict (each probe that finds the other owner reports it).
    const seen = async (): Promise<string[]> => [
      ...new Set((await driver.call<{ address: string }[]>('conflicts')).map((c) => c.address).sort()),
    ];
    // The probe at bind time; one more after 1.5 s if it saw nothing (an IPv6 probe of the first
    // bind is sometimes not answered in this lab: seen in CI, cause not established).
    const end = Date.now() + 4000;
    let reprobed = false;
    while ((await seen()).length < 2 && Date.now() < end) {
      await sleep(100);
      if (!reprobed && Date.now() > end - 2500) {
        reprobed = true;
        await driver.call('probeConflicts');
      }
    }
    expect(await seen()).toEqual(['198.18.0.55', 'fd00:18::55']);
    const next = await driver.call<ApplyReport>('apply', state(['198.18.0.55', 'fd00:18::55']));
    expect(next.conflicts.map((c) => c.address).sort()).toEqual(['198.18.0.55', 'fd00:18::55']);
    expect(next.conflicts.find((c) => c.address === '198.18.0.55')?.otherMac).toBe(extMac());
    lab.ip(ext, 'addr', 'del', '198.18.0.55/32', 'dev', 'eth0');
    lab.ip(ext, 'addr', 'del', 'fd00:18::55/128', 'dev', 'eth0');
    // Once the other owner is gone, a periodic probe clears the conflict.
    expect(await driver.call<unknown[]>('probeConflicts')).toEqual([]);
    expect((await driver.call<ApplyReport>('apply', state([]))).conflicts).toEqual([]);
  }, 15_000);

  it('never binds or removes a desired EIP that exists as a foreign address', async () => {
    const report = await driver.call<ApplyReport>('apply', state([FOREIGN4]));
    expect(report.ok).toBe(true);
    expect(report.foreignEips).toEqual([FOREIGN4]);
    const all = await driver.call<ApplyReport>('withdrawAll');
    expect(all.ok).toBe(true);
    expect(lab.ip(gw, 'addr', 'show', 'dev', 'eth0')).toContain(`${FOREIGN4}/32`);
  });
});
