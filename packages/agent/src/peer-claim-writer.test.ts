import { PEER_CLAIM_ANNOTATION, parsePeerClaims } from '@egressgateway/crds';
import { silentLogger } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { StepClock } from '../test/step-clock.js';
import { PeerClaimWriter } from './peer-claim-writer.js';
import type { PeerTakeoverClaim } from './peer-driver.js';

/** A client whose patches succeed unless `down`; every attempt is recorded. */
class FakeClient {
  down = false;
  readonly attempts: Array<string | null> = [];
  async patchMerge(_ref: unknown, name: string, _ns: unknown, body: unknown): Promise<never> {
    expect(name).toBe('node2');
    const v = (body as { metadata: { annotations: Record<string, string | null> } }).metadata.annotations[
      PEER_CLAIM_ANNOTATION
    ] as string | null;
    this.attempts.push(v);
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return {} as never;
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const claim: PeerTakeoverClaim = {
  gateway: 'egw1',
  ipv4: '198.51.100.7',
  ipv6: '',
  from: 'node1',
  gatewayResourceVersion: '41',
  epoch: 7,
};

function writer(current?: string) {
  const clock = new StepClock();
  const client = new FakeClient();
  const w = new PeerClaimWriter({
    client,
    clock,
    log: silentLogger,
    nodeName: 'node2',
    current: () => current,
    wallNow: () => Date.UTC(2026, 11, 5, 22, 0, 0) + clock.t,
  });
  return { clock, client, w };
}

describe('PeerClaimWriter', () => {
  it('writes once per change of the claim set, not per call, and clears when the set is empty', async () => {
    const { client, w } = writer();
    w.set([]);
    await settle();
    expect(client.attempts).toEqual([]); // nothing there, nothing to clear
    w.set([claim]);
    await settle();
    w.set([claim]);
    w.set([claim]);
    await settle();
    expect(client.attempts).toHaveLength(1);
    expect(parsePeerClaims(client.attempts[0] ?? undefined).claims).toEqual([
      { ...claim, at: '2026-12-05T22:00:00.000Z' },
    ]);
    w.set([]);
    await settle();
    expect(client.attempts).toEqual([client.attempts[0], null]);
    expect(w.value).toBeNull();
  });

  it("clears a previous run's claims at the first set", async () => {
    const { client, w } = writer('[{"gateway":"egw1","ipv4":"198.51.100.7","ipv6":"","from":"node3"}]');
    w.set([]);
    await settle();
    expect(client.attempts).toEqual([null]);
  });

  it('retries a failed write with a growing backoff until it lands, writing the newest set', async () => {
    const { clock, client, w } = writer();
    client.down = true;
    w.set([claim]);
    await settle();
    expect(client.attempts).toHaveLength(1);
    expect(clock.fireNext()).toBe(250);
    await settle();
    expect(clock.fireNext()).toBe(500);
    await settle();
    expect(client.attempts).toHaveLength(3);
    // The set changed meanwhile (the status moved): the retry writes the newest.
    const newer = { ...claim, gatewayResourceVersion: '42' };
    w.set([newer]);
    await settle();
    expect(client.attempts).toHaveLength(3); // waits for the retry, no write per change while down
    client.down = false;
    expect(clock.fireNext()).toBe(1000);
    await settle();
    expect(client.attempts).toHaveLength(4);
    expect(parsePeerClaims(client.attempts[3] ?? undefined).claims[0]?.gatewayResourceVersion).toBe('42');
    expect(clock.timers.size).toBe(0);
  });

  it('keeps the time a claim was first made while only its status version changes', async () => {
    const { clock, client, w } = writer();
    w.set([claim]);
    await settle();
    clock.t = 3_000;
    w.set([{ ...claim, gatewayResourceVersion: '42' }]);
    await settle();
    const ats = client.attempts.map((a) => parsePeerClaims(a ?? undefined).claims[0]?.at);
    expect(ats).toEqual(['2026-12-05T22:00:00.000Z', '2026-12-05T22:00:00.000Z']);
    // A new take-over (another from) is a new claim with its own time.
    w.set([{ ...claim, from: 'node3' }]);
    await settle();
    expect(parsePeerClaims(client.attempts[2] ?? undefined).claims[0]?.at).toBe('2026-12-05T22:00:03.000Z');
  });
});
