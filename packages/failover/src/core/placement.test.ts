import { describe, expect, it } from 'vitest';
import { placeAddresses } from './placement.js';

const healthy = (...ids: string[]) => new Map(ids.map((id) => [id, { healthy: true }]));

describe('placeAddresses', () => {
  it("spreads a failed member's addresses over the least-loaded healthy candidates", () => {
    const previous = ['a1', 'a2', 'a3', 'a4'].map((address) => ({ group: 'g', address, member: 'dead' }));
    previous.push({ group: 'g', address: 'b1', member: 'n1' });
    const { decisions, load } = placeAddresses(
      [{ id: 'g', candidates: ['dead', 'n1', 'n2', 'n3'], addresses: ['a1', 'a2', 'a3', 'a4', 'b1'] }],
      healthy('n1', 'n2', 'n3'),
      previous,
    );
    expect(decisions.map((d) => [d.address, d.member, d.change])).toEqual([
      ['a1', 'n2', 'moved'],
      ['a2', 'n3', 'moved'],
      ['a3', 'n1', 'moved'],
      ['a4', 'n2', 'moved'],
      ['b1', 'n1', 'kept'],
    ]);
    expect([...load.entries()].sort()).toEqual([
      ['n1', 2],
      ['n2', 2],
      ['n3', 1],
    ]);
  });

  it('counts load across groups and never places on non-candidates or unhealthy members', () => {
    const { decisions } = placeAddresses(
      [
        { id: 'g1', candidates: ['n1', 'n2'], addresses: ['x'] },
        { id: 'g2', candidates: ['n1', 'n2', 'n3'], addresses: ['y', 'z'] },
      ],
      new Map([
        ['n1', { healthy: true }],
        ['n2', { healthy: true }],
        ['n3', { healthy: false }],
      ]),
      [{ group: 'g1', address: 'x', member: 'n1' }],
    );
    expect(decisions.map((d) => [d.group, d.address, d.member])).toEqual([
      ['g1', 'x', 'n1'],
      ['g2', 'y', 'n2'],
      ['g2', 'z', 'n1'],
    ]);
  });

  it('reports unassignable when no candidate is healthy', () => {
    const { decisions } = placeAddresses([{ id: 'g', candidates: ['n1'], addresses: ['x'] }], new Map(), [
      { group: 'g', address: 'x', member: 'n1' },
    ]);
    expect(decisions).toEqual([
      { group: 'g', address: 'x', member: null, previous: 'n1', change: 'unassignable' },
    ]);
  });

  it('rebalance (opt-in) evens out loads to a difference of at most one', () => {
    const previous = ['a', 'b', 'c', 'd'].map((address) => ({ group: 'g', address, member: 'n1' }));
    const groups = [{ id: 'g', candidates: ['n1', 'n2'], addresses: ['a', 'b', 'c', 'd'] }];
    const sticky = placeAddresses(groups, healthy('n1', 'n2'), previous);
    expect(sticky.decisions.every((d) => d.change === 'kept')).toBe(true);
    const balanced = placeAddresses(groups, healthy('n1', 'n2'), previous, { rebalance: true });
    expect(balanced.decisions.filter((d) => d.change === 'rebalanced')).toHaveLength(2);
    expect(balanced.load.get('n1')).toBe(2);
    expect(balanced.load.get('n2')).toBe(2);
  });

  it('heldElsewhere: placing one group alone gives what placing it with the kept groups gives', () => {
    // Group h keeps two addresses on n1; group g lost its member and places two addresses.
    const health = healthy('n1', 'n2');
    const kept = { id: 'h', candidates: ['n1'], addresses: ['h1', 'h2'] };
    const failed = { id: 'g', candidates: ['dead', 'n1', 'n2'], addresses: ['g1', 'g2'] };
    const previous = [
      { group: 'h', address: 'h1', member: 'n1' },
      { group: 'h', address: 'h2', member: 'n1' },
      { group: 'g', address: 'g1', member: 'dead' },
      { group: 'g', address: 'g2', member: 'dead' },
    ];
    const together = placeAddresses([kept, failed], health, previous);
    const alone = placeAddresses([failed], health, previous.slice(2), {
      heldElsewhere: new Map([['n1', 2]]),
    });
    expect(alone.decisions).toEqual(together.decisions.filter((d) => d.group === 'g'));
    expect(alone.decisions.map((d) => d.member)).toEqual(['n2', 'n2']);
    expect(alone.load.get('n1')).toBe(2);
    // Without it, n1 looks empty and takes one of them.
    expect(placeAddresses([failed], health, previous.slice(2)).decisions.map((d) => d.member)).toEqual([
      'n1',
      'n2',
    ]);
  });
});
