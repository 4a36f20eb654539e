import { silentLogger } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { StepClock } from '../test/step-clock.js';
import { type PeersCondition, PeersConditionWriter, peersCondition } from './peer-condition.js';

describe('peersCondition', () => {
  it('is True while the peers decide for every gateway, a gateway with this node alone not counting', () => {
    expect(peersCondition({ egw2: 'peers', egw1: 'peers', solo: 'single-member' }, 3000)).toEqual({
      type: 'GatewayPeers',
      status: 'True',
      reason: 'PeersHeard',
      message: 'the gateway peers decide for egw1, egw2',
    });
    expect(peersCondition({ solo: 'single-member' }, 3000)).toBeUndefined();
  });

  it('is False naming each gateway on API fencing and why, and absent for a node in no gateway', () => {
    const c = peersCondition({ egw1: 'peers', egw2: 'silent', egw3: 'no-key' }, 3000);
    expect(c?.status).toBe('False');
    expect(c?.reason).toBe('Fallback');
    expect(c?.message).toBe(
      'API fencing decides, as without peers, for egw2 (no valid advert from any peer for 3000 ms (is UDP port blocked between the gateway nodes?)); egw3 (no peer key loaded (create the peer key Secret, see docs/operations.md "Gateway peers"))',
    );
    expect(peersCondition({}, 3000)).toBeUndefined();
  });
});

/** A client whose status patches succeed unless `down`; every attempt is recorded. */
class FakeClient {
  down = false;
  readonly patches: unknown[] = [];
  async patchStatus(_ref: unknown, name: string, _ns: unknown, body: unknown): Promise<never> {
    expect(name).toBe('gw1');
    this.patches.push((body as { status: { conditions: unknown } }).status.conditions);
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return {} as never;
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));

function writer(current?: PeersCondition[]) {
  const clock = new StepClock();
  const client = new FakeClient();
  const w = new PeersConditionWriter({
    client,
    clock,
    log: silentLogger,
    nodeName: 'gw1',
    current: () => current,
    wallNow: () => Date.UTC(2026, 11, 6, 12, 0, 0) + clock.t,
    retryMs: 100,
  });
  return { clock, client, w };
}

describe('PeersConditionWriter', () => {
  it('writes once per change of what the condition says, and moves lastTransitionTime only with the status', async () => {
    const { clock, client, w } = writer();
    w.set(peersCondition({ egw1: 'peers' }, 3000));
    w.set(peersCondition({ egw1: 'peers' }, 3000));
    await settle();
    expect(client.patches).toHaveLength(1);
    expect(client.patches[0]).toEqual([
      expect.objectContaining({ status: 'True', lastTransitionTime: '2026-12-06T12:00:00.000Z' }),
    ]);
    clock.advance(1000);
    w.set(peersCondition({ egw1: 'peers', egw2: 'peers' }, 3000));
    await settle();
    // A new message, the same status: the transition time stays.
    expect(client.patches[1]).toEqual([
      expect.objectContaining({
        message: 'the gateway peers decide for egw1, egw2',
        lastTransitionTime: '2026-12-06T12:00:00.000Z',
      }),
    ]);
    clock.advance(1000);
    w.set(peersCondition({ egw1: 'peers', egw2: 'silent' }, 3000));
    await settle();
    expect(client.patches[2]).toEqual([
      expect.objectContaining({
        status: 'False',
        reason: 'Fallback',
        lastTransitionTime: '2026-12-06T12:00:02.000Z',
      }),
    ]);
    w.set(undefined);
    await settle();
    expect(client.patches[3]).toBeNull();
    expect(w.value).toBeUndefined();
  });

  it("keeps a previous run's condition that says the same, replaces one that does not, and retries a failed write", async () => {
    const held: PeersCondition = {
      type: 'GatewayPeers',
      status: 'True',
      reason: 'PeersHeard',
      message: 'the gateway peers decide for egw1',
      lastTransitionTime: '2026-12-01T00:00:00.000Z',
    };
    const same = writer([held]);
    same.w.set(peersCondition({ egw1: 'peers' }, 3000));
    await settle();
    expect(same.client.patches).toEqual([]);

    const other = writer([held]);
    other.client.down = true;
    other.w.set(peersCondition({ egw1: 'silent' }, 3000));
    await settle();
    expect(other.client.patches).toHaveLength(1);
    other.client.down = false;
    other.clock.advance(100);
    await settle();
    expect(other.client.patches).toHaveLength(2);
    expect(other.w.value?.status).toBe('False');
  });
});
