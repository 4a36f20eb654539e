import { describe, expect, it } from 'vitest';
import { flattenNftScript, takeAcknowledged } from './nft-session.js';

describe('flattenNftScript', () => {
  it('joins one-command lines with ";" (one line = one transaction of nft -i)', () => {
    expect(
      flattenNftScript(
        'delete element inet t gen { 0x1 }\n  add element inet t gen { 0x2 }\n\nadd set arp t s { type ipv4_addr; }\n',
      ),
    ).toBe(
      'delete element inet t gen { 0x1 }; add element inet t gen { 0x2 }; add set arp t s { type ipv4_addr; }',
    );
  });

  it('refuses blocks that span lines and comments (they would change meaning on one line)', () => {
    expect(flattenNftScript('table inet t {\n  set s { type mark; }\n}\n')).toBeUndefined();
    expect(flattenNftScript('add table inet t # ours\n')).toBeUndefined();
    expect(flattenNftScript('add element inet t s { 1 } }\n')).toBeUndefined();
  });
});

describe('takeAcknowledged', () => {
  const ack = (id: number) =>
    `Error: No such file or directory\nlist table inet egressgateway-ack-${id}\n                ^^^^^^^^^^^^^^^^^^^^\n`;

  it('waits for the whole acknowledgement (echo and caret line)', () => {
    const full = ack(3);
    expect(takeAcknowledged('', 3).done).toBe(false);
    expect(takeAcknowledged(full.slice(0, full.lastIndexOf('^')), 3).done).toBe(false);
    expect(takeAcknowledged(full, 3)).toEqual({ done: true, error: undefined, rest: '' });
  });

  it("returns the transaction's own error and leaves the next acknowledgement in the rest", () => {
    const own =
      'Error: Could not process rule: No such file or directory\ndelete element inet t gen { 0x5 }\n       ^^^';
    const r = takeAcknowledged(`${own}\n${ack(7)}${ack(8)}`, 7);
    expect(r).toEqual({ done: true, error: own, rest: ack(8) });
    expect(takeAcknowledged(ack(8), 7).done).toBe(false);
    if (r.done) expect(takeAcknowledged(r.rest, 8)).toEqual({ done: true, error: undefined, rest: '' });
  });

  it('does not take an acknowledgement of a request whose number only starts the same', () => {
    expect(takeAcknowledged(ack(12), 1).done).toBe(false);
  });
});
