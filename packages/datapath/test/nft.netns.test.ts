import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplyReport, NodeDatapathState } from '../src/index.js';
import {
  desiredNftContent,
  diffNftSets,
  type NftContent,
  parseNftJson,
  renderDeltaScript,
  renderFullScript,
} from '../src/nft-content.js';
import { type Driver, isRoot, Lab, skipReason } from './lab.js';

if (!isRoot) console.warn(skipReason);

const base: NodeDatapathState = {
  egressInterface: 'eth0',
  markRoutes: [],
  eips: ['198.18.0.50', 'fd00:18::50'],
  steering: [
    {
      id: 'a',
      sources: ['198.19.1.2', 'fd00:19:1::2'],
      destinations: ['198.18.0.100/32', 'fd00:99::/64'],
      mark: 0x26000011,
    },
    { id: 'b', sources: ['198.19.1.0/24', 'fd00:19:1::/64'], destinations: 'all', mark: 0x26000012 },
  ],
  snat: [
    { id: 'a', sources: ['198.19.1.0/24'], destinations: ['198.18.0.100/32'], eip: '198.18.0.50' },
    { id: 'a6', sources: ['fd00:19:1::/64'], destinations: 'all', eip: 'fd00:18::50' },
  ],
  bypassDestinations: ['10.96.0.0/12', 'fd00:96::/108'],
};

describe.skipIf(!isRoot)('nftables table against the real nft', () => {
  const lab = new Lab();
  let ns: string;
  let driver: Driver;
  const read = (): NftContent | null =>
    parseNftJson(lab.exec(ns, 'nft', ['-j', 'list', 'table', 'inet', 'egressgateway']));

  beforeAll(async () => {
    ns = lab.ns('n');
    const peer = lab.ns('p');
    lab.veth(ns, 'eth0', peer, 'eth0');
    driver = await lab.driver(ns, { announce: false, probeAfterBind: false });
  });
  afterAll(async () => {
    await driver?.close().catch(() => undefined);
    lab.teardown();
  });

  it('reads back exactly what it wrote, and a delta (range keys, IPv6, map values) lands exactly', () => {
    const c1 = desiredNftContent(base) as NftContent;
    lab.exec(ns, 'nft', ['-f', '-'], renderFullScript(c1, 'eth0', 'egress.vxlan'));
    expect(read()).toEqual(c1);
    const c2 = desiredNftContent({
      ...base,
      steering: [{ ...(base.steering[0] as NodeDatapathState['steering'][number]), mark: 0x26000013 }],
      snat: [{ id: 'a6', sources: ['fd00:19:1::/64'], destinations: 'all', eip: 'fd00:18::51' }],
    }) as NftContent;
    lab.exec(ns, 'nft', ['-f', '-'], renderDeltaScript(diffNftSets(c1, c2)));
    expect(read()).toEqual(c2);
  });

  it('a failed apply reports what was and was not applied; the next apply converges', async () => {
    const broken = await driver.call<ApplyReport>('apply', { ...base, egressInterface: 'nosuch0' });
    expect(broken.ok).toBe(false);
    expect(broken.failed?.text).toBe('eip-add 198.18.0.50 dev nosuch0');
    expect(broken.failed?.error).toMatch(/interface nosuch0 not found/);
    expect(broken.applied.map((a) => a.operation.op)).toEqual(['nft-replace']);
    expect(broken.notApplied).toEqual(['eip-add fd00:18::50 dev nosuch0']);
    const fixed = await driver.call<ApplyReport>('apply', base);
    expect(fixed.ok).toBe(true);
    expect(fixed.applied.map((a) => a.operation.op).sort()).toEqual(['eip-add', 'eip-add', 'nft-replace']);
    expect(read()).toEqual(desiredNftContent(base));
    expect((await driver.call<ApplyReport>('apply', base)).applied).toEqual([]);
    expect((await driver.call<ApplyReport>('withdrawAll')).ok).toBe(true);
  });
});
