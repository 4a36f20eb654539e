import { type Clock, type KubeClient, silentLogger } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { FenceKeeper } from './fence-keeper.js';
import { Heartbeater } from './heartbeater.js';

/** A clock moved by hand; due timers fire on `advance`. */
class StepClock implements Clock {
  t = 10_000;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];
  private seq = 0;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    this.seq += 1;
    this.timers.push({ id: this.seq, at: this.t + ms, fn });
    return this.seq;
  }
  clearTimeout(h: unknown) {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  async advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
    await new Promise((r) => setImmediate(r));
  }
}

function keeper(peers: { cap?: number; keep?: boolean }) {
  const clock = new StepClock();
  const calls: Array<{ op: string; lifetime?: number; leaseMs?: number }> = [];
  let changed = 0;
  const fence = new FenceKeeper<null>({
    clock,
    log: silentLogger,
    nodeName: 'n1',
    evictionTimeoutMs: 3_000,
    fenceMarginMs: 500,
    binder: {
      renewEips: async (lifetime, leaseMs) => {
        calls.push({ op: 'renew', lifetime, ...(leaseMs !== undefined ? { leaseMs } : {}) });
      },
      withdrawEips: async () => {
        calls.push({ op: 'withdraw' });
      },
    },
    heldEips: () => 1,
    assignedEips: () => ['198.51.100.7'],
    stopped: () => false,
    freshRead: async () => null,
    adopt: () => undefined,
    changed: () => {
      changed += 1;
    },
    ...(peers.cap !== undefined ? { leaseCap: () => clock.now() + (peers.cap as number) } : {}),
    ...(peers.keep !== undefined ? { keepEips: () => peers.keep as boolean } : {}),
  });
  return { clock, fence, calls, changed: () => changed };
}

describe('FenceKeeper with gateway peers', () => {
  it('renews held EIPs no further than the peer cores lease end', async () => {
    const k = keeper({ cap: 150 });
    k.fence.acknowledged(k.clock.now(), 'Ready');
    await k.clock.advance(1);
    k.fence.acknowledged(k.clock.now(), 'Ready');
    const renew = k.calls.find((c) => c.op === 'renew');
    expect(renew).toEqual({ op: 'renew', lifetime: 1, leaseMs: 150 });
  });

  it('renews to the API fence deadline without peers', async () => {
    const k = keeper({});
    k.fence.acknowledged(k.clock.now(), 'Ready');
    await k.clock.advance(1);
    k.fence.acknowledged(k.clock.now(), 'Ready');
    expect(k.calls.find((c) => c.op === 'renew')).toEqual({ op: 'renew', lifetime: 2, leaseMs: 2_500 });
  });

  it('at the API fence deadline leaves peer-held EIPs bound and only re-applies the datapath', async () => {
    const k = keeper({ keep: true });
    k.fence.acknowledged(k.clock.now(), 'Ready');
    await k.clock.advance(10);
    expect(k.fence.fenced).toBe(false);
    await k.clock.advance(3_000);
    expect(k.fence.fenced).toBe(true);
    expect(k.calls.filter((c) => c.op === 'withdraw')).toEqual([]);
    expect(k.changed()).toBe(2); // lifted, then raised
  });

  it('withdraws every EIP at the deadline when the peer cores hold none', async () => {
    const k = keeper({ keep: false });
    k.fence.acknowledged(k.clock.now(), 'Ready');
    await k.clock.advance(10);
    expect(k.fence.fenced).toBe(false);
    await k.clock.advance(3_000);
    expect(k.fence.fenced).toBe(true);
    expect(k.calls.filter((c) => c.op === 'withdraw')).toHaveLength(1);
  });
});

describe('Heartbeater.wake (a peer reaches the API server and this node does not)', () => {
  it('writes the next heartbeat at once instead of at the end of the period', async () => {
    const clock = new StepClock();
    const writes: number[] = [];
    // A heartbeat is a Lease renewal (created, then patched); tunnel status writes are not beats.
    const renew = async () => {
      writes.push(clock.now());
      return { metadata: { resourceVersion: String(writes.length) } };
    };
    const client = {
      create: renew,
      patchMerge: renew,
      patchStatus: async () => ({}),
    } as unknown as KubeClient;
    const hb = new Heartbeater({
      client,
      clock,
      log: silentLogger,
      nodeName: 'n1',
      namespace: 'kube-system',
      evictionTimeoutMs: 3_000,
      parent: { name: 'eth0', ipv4: '198.18.0.1' },
      updatePeriodMs: 1_000,
      ownTunnel: () => ({ metadata: { name: 'n1' } }) as never,
      selected: () => true,
      acknowledged: () => undefined,
    });
    const stop = new AbortController();
    const loop = hb.run(stop.signal);
    await clock.advance(100);
    expect(writes).toEqual([10_000]);
    hb.wake();
    await clock.advance(0);
    expect(writes).toEqual([10_000, 10_100]);
    // The period counts again from the woken write.
    await clock.advance(999);
    expect(writes).toHaveLength(2);
    await clock.advance(1);
    expect(writes).toEqual([10_000, 10_100, 11_100]);
    stop.abort();
    await loop;
  });
});
