import { describe, expect, it } from 'vitest';
import { initialPeerState, type PeerState, step } from './core.js';
import { DEFAULT_PEER_TIMING } from './timing.js';

// The README's example, with its printed lines as assertions.
describe('README example', () => {
  it('node1 takes the EIP at 200, keeps it through the 3.5 s API outage, node2 takes over at 5150 after node1 dies', () => {
    const members = ['node1', 'node2', 'node3'];
    const agents = new Map<string, PeerState>(
      members.map((node) => [
        node,
        initialPeerState(
          { group: 'egw1', node, members, eips: ['10.6.1.56'], epoch: 1, timing: DEFAULT_PEER_TIMING },
          0,
          { '10.6.1.56': 'node1' },
        ),
      ]),
    );
    const dead = new Set<string>();
    const printed: string[] = [];
    const input = (node: string, msg: Parameters<typeof step>[1], now: number): void => {
      if (dead.has(node)) return;
      const r = step(agents.get(node) as PeerState, msg, now);
      agents.set(node, r.state);
      for (const a of r.actions) {
        if (a.type === 'send-advert') {
          for (const to of members) if (to !== node) input(to, { type: 'advert', advert: a.advert }, now);
        } else if (a.type === 'take-over' || a.type === 'withdraw')
          printed.push(`${now} ${node} ${a.type} ${a.eip}`);
      }
    };
    for (let now = 0; now <= 6_000; now += 10) {
      if (now === 5_000) dead.add('node1');
      for (const node of members) {
        if (now % 500 === 0 && (now <= 1_000 || now >= 4_500))
          input(node, { type: 'heartbeat-ack', sentAt: now }, now);
        input(node, { type: 'tick' }, now);
      }
    }
    expect(printed).toEqual(['200 node1 take-over 10.6.1.56', '5150 node2 take-over 10.6.1.56']);
  });
});
