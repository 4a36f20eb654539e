import { DRAINING_ANNOTATION } from '@egressgateway/crds';
import { type Clock, type KubeClient, silentLogger } from '@egressgateway/kube';
import { describe, expect, it } from 'vitest';
import { Handover } from './handover.js';

/** Timers run on the next macrotask; the delays asked for are recorded. */
class RecordingClock implements Clock {
  readonly delays: number[] = [];
  now(): number {
    return 0;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.delays.push(ms);
    return setTimeout(fn, 0);
  }
  clearTimeout(h: unknown): void {
    clearTimeout(h as ReturnType<typeof setTimeout>);
  }
}

function handover(failures: number, hold?: Promise<void>, assigned: string[] = []) {
  const writes: Array<string | null> = [];
  /** What the handover asked of the agent, in order. */
  const calls: string[] = [];
  let left = failures;
  const client = {
    patchMerge: async (_r: unknown, _n: string, _ns: unknown, body: unknown) => {
      const v = (body as { metadata: { annotations: Record<string, string | null> } }).metadata.annotations[
        DRAINING_ANNOTATION
      ] as string | null;
      // A mark sent while the API path is down hangs until the path is back.
      if (v !== null && hold !== undefined) await hold;
      writes.push(v);
      calls.push(v === null ? 'clear' : 'mark');
      if (v === null && left-- > 0) throw new Error('connect ENETUNREACH');
      return {};
    },
  } as unknown as KubeClient;
  const clock = new RecordingClock();
  const h = new Handover({
    client,
    clock,
    log: silentLogger,
    nodeName: 'gw1',
    timeoutMs: 1000,
    lingerMs: 0,
    ownTunnel: () => undefined,
    assignedEips: () => assigned,
    placedElsewhere: () => true,
    release: async () => {
      calls.push('release');
    },
    stopping: () => calls.push('stopping'),
  });
  return { h, writes, clock, calls };
}

describe('Handover: planned stop', () => {
  it('tells the peers it is stopping before the release, and marks the tunnel draining only after the release', async () => {
    const { h, calls } = handover(0, undefined, ['198.51.100.7']);
    await h.run();
    expect(calls).toEqual(['stopping', 'release', 'mark']);
  });

  it('a lost egress link is no stop: the peers are not told (the link may come back)', async () => {
    const { h, calls } = handover(0);
    await h.linkLost();
    expect(calls).toEqual(['release', 'mark']);
  });
});

describe('Handover: egress link lost and restored', () => {
  it('clears the draining mark until the API server takes it (with a growing backoff)', async () => {
    const { h, writes, clock } = handover(2);
    await h.linkLost();
    expect(h.draining).toBe(true);
    await h.linkRestored();
    expect(h.draining).toBe(false);
    expect(writes.map((w) => (w === null ? 'clear' : 'mark'))).toEqual(['mark', 'clear', 'clear', 'clear']);
    expect(clock.delays).toEqual([250, 500]);
  });

  it('a mark that hung while the path was down lands before the clear, never after it', async () => {
    let pathBack = () => {};
    const { h, writes } = handover(0, new Promise<void>((r) => (pathBack = r)));
    const lost = h.linkLost();
    await new Promise((r) => setTimeout(r, 1)); // the handover released the EIPs and sent the mark
    const restored = h.linkRestored();
    await new Promise((r) => setTimeout(r, 5));
    expect(writes).toEqual([]); // the clear waits for the hung mark
    pathBack();
    await Promise.all([lost, restored]);
    expect(writes.map((w) => (w === null ? 'clear' : 'mark'))).toEqual(['mark', 'clear']);
    expect(h.draining).toBe(false);
  });

  it('stops clearing once the link is lost again, and leaves the mark standing', async () => {
    const { h, writes } = handover(1);
    await h.linkLost();
    const restoring = h.linkRestored();
    await h.linkLost();
    await restoring;
    expect(h.draining).toBe(true);
    expect(writes.at(-1)).not.toBeNull();
  });
});
