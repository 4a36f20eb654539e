import { describe, expect, it } from 'vitest';
import type { NodeDatapathState } from './model.js';
import {
  desiredNftContent,
  diffNftSets,
  elementKey,
  parseNftJson,
  renderArpTable,
  renderDeleteScript,
  renderDeltaScript,
  renderFullScript,
  renderLeaseLines,
} from './nft-content.js';

const state: NodeDatapathState = {
  egressInterface: 'eth0',
  markRoutes: [],
  eips: ['198.18.0.50', 'FD00:18::50'],
  steering: [
    { id: 'a', sources: ['198.19.1.2'], destinations: ['198.18.0.100/32'], mark: 0x26000011 },
    // Overlaps the first rule's (src, dst) pair: the earlier rule keeps that pair.
    { id: 'b', sources: ['198.19.1.0/30'], destinations: ['198.18.0.100/32'], mark: 0x26000012 },
    { id: 'c', sources: ['fd00:19:1::2'], destinations: 'all', mark: 0x26000012 },
  ],
  snat: [{ id: 'a', sources: ['198.19.1.0/24'], destinations: 'all', eip: '198.18.0.50' }],
  bypassDestinations: ['10.96.0.0/12', '10.96.0.0/13', '10.112.0.0/12'],
};

describe('desiredNftContent', () => {
  const c = desiredNftContent(state);
  if (c === null) throw new Error('expected content');

  it('resolves overlaps first-wins into disjoint range elements', () => {
    expect(c.sets.steer4).toEqual([
      '198.19.1.0-198.19.1.1 . 198.18.0.100 : 0x26000012',
      '198.19.1.2 . 198.18.0.100 : 0x26000011',
      '198.19.1.3 . 198.18.0.100 : 0x26000012',
    ]);
    expect(c.sets.steer6).toEqual(['fd00:19:1::2 . ::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff : 0x26000012']);
    expect(c.sets.snat4).toEqual(['198.19.1.0-198.19.1.255 . 0.0.0.0-255.255.255.255 : 198.18.0.50']);
  });

  it('merges overlapping and adjacent bypass ranges and normalises EIPs', () => {
    expect(c.sets.bypass4).toEqual(['10.96.0.0-10.127.255.255']);
    expect(c.sets.eip6).toEqual(['fd00:18::50']);
  });

  it('is null for an empty state, so the table is deleted rather than emptied', () => {
    expect(
      desiredNftContent({ egressInterface: 'eth0', markRoutes: [], eips: [], steering: [], snat: [] }),
    ).toBeNull();
  });

  it('has a structure hash that depends on the interface names only', () => {
    const other = desiredNftContent({ ...state, steering: [] });
    expect(other?.structure).toBe(c.structure);
    expect(desiredNftContent({ ...state, egressInterface: 'eth1' })?.structure).not.toBe(c.structure);
  });

  it('renders a full script that replaces the table in one transaction', () => {
    const script = renderFullScript(c, 'eth0', 'egress.vxlan');
    const lines = script.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'table inet egressgateway',
      'delete table inet egressgateway',
      'table inet egressgateway {',
    ]);
    expect(script).toContain(`chain v_${c.structure}`);
    expect(script).toContain(
      'add element inet egressgateway steer4 { 198.19.1.0-198.19.1.1 . 198.18.0.100 : 0x26000012,',
    );
    expect(script).toContain('oifname "eth0" snat ip to ip saddr . ip daddr map @snat4');
  });

  it('diffs set by set and renders deletions (keys only) before additions', () => {
    const next = desiredNftContent({ ...state, eips: ['198.18.0.51'] });
    if (next === null) throw new Error('expected content');
    const deltas = diffNftSets(c, next);
    // 198.18.0.50 stays in the protection set: a SNAT rule still uses it.
    expect(deltas).toEqual([
      { set: 'eip4', remove: [], add: ['198.18.0.51'] },
      { set: 'eip6', remove: ['fd00:18::50'], add: [] },
    ]);
    expect(renderDeltaScript(deltas, undefined, 0x1234)).toBe(
      [
        'flush set inet egressgateway gen',
        'add element inet egressgateway gen { 0x00001234 }',
        'delete element inet egressgateway eip6 { fd00:18::50 }',
        'add element inet egressgateway eip4 { 198.18.0.51 }',
        '',
      ].join('\n'),
    );
    expect(elementKey('1.2.3.4 . 5.6.7.8 : 0x26000001')).toBe('1.2.3.4 . 5.6.7.8');
  });
});

describe('EIP leases (the nftables dead-man switch)', () => {
  const c = desiredNftContent(state);
  if (c === null) throw new Error('expected content');

  it('the inet table drops neighbour discovery from an IPv6 EIP whose lease ran out', () => {
    const script = renderFullScript(c, 'eth0', 'egress.vxlan');
    expect(script).toContain('set live4 { type ipv4_addr; flags timeout; }');
    expect(script).toContain(
      'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 saddr @eip6 ip6 saddr != @live6 drop',
    );
  });

  it('a full rebuild also rebuilds the arp table and writes the running leases back', () => {
    const script = renderFullScript(c, 'eth0', 'egress.vxlan', undefined, undefined, [
      { address: '198.18.0.50', ms: 1234.2 },
      { address: 'FD00:18::50', ms: 99 },
      { address: '198.18.0.51', ms: 0 },
    ]);
    const lines = script.trimEnd().split('\n');
    expect(lines).toContain('delete table arp egressgateway');
    expect(lines).toContain('add element arp egressgateway eip4 { 198.18.0.50 }');
    expect(lines).toContain('add element arp egressgateway live4 { 198.18.0.50 timeout 1235ms }');
    expect(lines).toContain('add element inet egressgateway live4 { 198.18.0.50 timeout 1235ms }');
    expect(lines).toContain('add element inet egressgateway live6 { fd00:18::50 timeout 99ms }');
    // An expired lease is not resurrected; the fresh table needs no refresh dance.
    expect(script).not.toContain('198.18.0.51 timeout');
    expect(script).not.toContain('delete element');
  });

  it('the arp table drops ARP from EIPs without a lease and copies only the IPv4 EIP set', () => {
    const lines = renderArpTable(['198.18.0.50'], [{ address: 'fd00:18::50', ms: 500 }]);
    expect(lines).toContain(
      'add rule arp egressgateway output arp saddr ip @eip4 arp saddr ip != @live4 drop',
    );
    expect(lines.at(-1)).toBe('add element arp egressgateway eip4 { 198.18.0.50 }');
    expect(renderArpTable([], [])).not.toContain('add element');
  });

  it('a renewal replaces the element (add, delete, add) in both tables, so it can also shorten it', () => {
    expect(renderLeaseLines([{ address: '198.18.0.50', ms: 750 }])).toEqual([
      'add element inet egressgateway live4 { 198.18.0.50 timeout 750ms }',
      'delete element inet egressgateway live4 { 198.18.0.50 }',
      'add element inet egressgateway live4 { 198.18.0.50 timeout 750ms }',
      'add element arp egressgateway live4 { 198.18.0.50 timeout 750ms }',
      'delete element arp egressgateway live4 { 198.18.0.50 }',
      'add element arp egressgateway live4 { 198.18.0.50 timeout 750ms }',
    ]);
    expect(renderLeaseLines([{ address: 'fd00:18::50', ms: 10 }], undefined, false)).toEqual([
      'add element inet egressgateway live6 { fd00:18::50 timeout 10ms }',
    ]);
    expect(renderDeleteScript()).toContain('delete table arp egressgateway');
  });
});

describe('parseNftJson', () => {
  it('reads prefixes, ranges, concatenations and map values back into canonical elements', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 'egressgateway' } },
        { chain: { family: 'inet', table: 'egressgateway', name: 'v_0123456789abcdef' } },
        { set: { name: 'bypass4', type: 'ipv4_addr', elem: [{ prefix: { addr: '10.96.0.0', len: 11 } }] } },
        {
          map: {
            name: 'steer4',
            type: ['ipv4_addr', 'ipv4_addr'],
            map: 'mark',
            elem: [
              [{ concat: [{ range: ['198.19.1.0', '198.19.1.1'] }, '198.18.0.100'] }, 637534226],
              [{ concat: ['198.19.1.2', { prefix: { addr: '0.0.0.0', len: 0 } }] }, 637534225],
            ],
          },
        },
        {
          map: {
            name: 'snat6',
            map: 'ipv6_addr',
            elem: [[{ concat: ['fd00::1', 'fd00::2'] }, 'FD00:18:0::50']],
          },
        },
        { map: { name: 'peermark', map: 'mark', elem: [['02:00:00:FF:00:11', 637534225]] } },
        { set: { name: 'eip4', elem: ['198.18.0.50'] } },
        { set: { name: 'unrelated', elem: ['1.1.1.1'] } },
      ],
    });
    const c = parseNftJson(json);
    expect(c?.structure).toBe('0123456789abcdef');
    expect(c?.sets.bypass4).toEqual(['10.96.0.0-10.127.255.255']);
    expect(c?.sets.steer4).toEqual([
      '198.19.1.0-198.19.1.1 . 198.18.0.100 : 0x26000012',
      '198.19.1.2 . 0.0.0.0-255.255.255.255 : 0x26000011',
    ]);
    expect(c?.sets.snat6).toEqual(['fd00::1 . fd00::2 : fd00:18::50']);
    expect(c?.sets.peermark).toEqual(['02:00:00:ff:00:11 : 0x26000011']);
    expect(c?.sets.eip4).toEqual(['198.18.0.50']);
  });

  it('returns null for a table without our structure marker', () => {
    expect(parseNftJson(JSON.stringify({ nftables: [{ table: { name: 'egressgateway' } }] }))).toBeNull();
  });
});
