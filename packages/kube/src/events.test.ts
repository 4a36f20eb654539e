import { describe, expect, it } from 'vitest';
import { EventRecorder, type EventSink } from './events.js';

class RecordingSink implements EventSink {
  created: Array<{ namespace: string; event: any }> = [];
  patched: Array<{ namespace: string; name: string; patch: object }> = [];
  failNext = false;
  async create(namespace: string, event: object) {
    if (this.failNext) {
      this.failNext = false;
      throw Object.assign(new Error('apiserver down'), { code: 503 });
    }
    this.created.push({ namespace, event });
    return { name: (event as { metadata: { name: string } }).metadata.name };
  }
  async patch(namespace: string, name: string, patch: object) {
    this.patched.push({ namespace, name, patch });
  }
}

describe('EventRecorder', () => {
  const gw = { kind: 'EgressGateway', name: 'egw1', apiVersion: 'egressgateway.spidernet.io/v1beta1' };

  it('creates an event, then counts repeats within the window on the same event', async () => {
    let now = Date.UTC(2026, 10, 25, 12);
    const sink = new RecordingSink();
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const r = new EventRecorder(sink, {
      component: 'egw-controller',
      instance: 'c1',
      clock,
      aggregateWindowMs: 60_000,
    });
    const moved = {
      type: 'Normal' as const,
      reason: 'EIPMoved',
      message: 'moved 198.18.0.50 from node1 to node2',
      involvedObject: gw,
    };
    r.record(moved);
    r.record(moved);
    now += 61_000;
    r.record(moved);
    await r.flush();
    expect(sink.created).toHaveLength(2);
    expect(sink.created[0]?.namespace).toBe('default');
    expect(sink.created[0]?.event).toMatchObject({
      type: 'Normal',
      reason: 'EIPMoved',
      count: 1,
      involvedObject: { kind: 'EgressGateway', name: 'egw1' },
      source: { component: 'egw-controller', host: 'c1' },
      firstTimestamp: '2026-11-25T12:00:00Z',
    });
    expect(sink.patched).toEqual([
      {
        namespace: 'default',
        name: sink.created[0]?.event.metadata.name,
        patch: { count: 2, lastTimestamp: '2026-11-25T12:00:00Z' },
      },
    ]);
  });

  it('never throws when the API fails, and keeps recording afterwards', async () => {
    const sink = new RecordingSink();
    const r = new EventRecorder(sink, { component: 'c', instance: 'i' });
    sink.failNext = true;
    r.record({ type: 'Warning', reason: 'A', message: 'first', involvedObject: gw });
    r.record({ type: 'Warning', reason: 'B', message: 'second', involvedObject: gw });
    await r.flush();
    expect(sink.created.map((c) => c.event.reason)).toEqual(['B']);
  });
});
