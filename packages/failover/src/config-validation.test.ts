import { describe, expect, it } from 'vitest';
import {
  assessHeartbeats,
  createEgressReconciler,
  EgressConfigError,
  type EgressState,
  reconcileEgress,
  validateTiming,
} from './index.js';
import { makeGateway, makeNode, makeTunnel } from './testing/builders.js';
import { simulateFailover, simulateTrials } from './testing/simulator-entry.js';

const state: EgressState = {
  gateways: [makeGateway('gw', { ipv4: ['198.18.0.10'] })],
  nodes: [makeNode('n1')],
  tunnels: [makeTunnel('n1', 0)],
  policies: [],
  clusterPolicies: [],
};

/** The error a call throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): EgressConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EgressConfigError);
    return error as EgressConfigError;
  }
  throw new Error('expected the call to throw EgressConfigError');
}

describe('timing config is validated at the entry points', () => {
  it.each([
    ['NaN', Number.NaN, /finite number of milliseconds/],
    ['Infinity', Number.POSITIVE_INFINITY, /finite number of milliseconds/],
    ['negative', -3_000, /positive/],
    ['zero', 0, /positive/],
    ['a string', '3000', /finite number of milliseconds/],
    ['seconds instead of ms', 3, /looks like seconds.*3000/],
    ['just below the threshold', 99, /looks like seconds/],
  ])('reconcileEgress refuses evictionTimeoutMs %s, naming the field and the fix', (_, value, message) => {
    const e = thrown(() => reconcileEgress(state, { evictionTimeoutMs: value as number }, 1));
    expect(e.code).toBe('EGW_INVALID_CONFIG');
    expect(e.field).toBe('evictionTimeoutMs');
    expect(e.message).toMatch(/^config\.evictionTimeoutMs/);
    expect(e.message).toMatch(message);
  });

  it('accepts the smallest sane value and the defaults', () => {
    expect(reconcileEgress(state, { evictionTimeoutMs: 100 }, 1).nextWakeAt).toBe(101);
    expect(reconcileEgress(state, { evictionTimeoutMs: 3_000 }, 1).nextWakeAt).toBe(3_001);
  });

  it('a config that is not an object, or flags that are not booleans, are refused', () => {
    expect(thrown(() => reconcileEgress(state, null as never, 1)).field).toBe('config');
    expect(thrown(() => reconcileEgress(state, undefined as never, 1)).field).toBe('config');
    expect(
      thrown(() => reconcileEgress(state, { evictionTimeoutMs: 3_000, rebalance: 'yes' as never }, 1)).field,
    ).toBe('rebalance');
    expect(
      thrown(() => reconcileEgress(state, { evictionTimeoutMs: 3_000, nodeNotReadyEvicts: 1 as never }, 1))
        .field,
    ).toBe('nodeNotReadyEvicts');
  });

  it('nowMs must be a finite number', () => {
    expect(thrown(() => reconcileEgress(state, { evictionTimeoutMs: 3_000 }, Number.NaN)).field).toBe(
      'nowMs',
    );
  });

  it('a reconciler of its own validates the same way', () => {
    const reconcile = createEgressReconciler();
    expect(thrown(() => reconcile(state, { evictionTimeoutMs: Number.NaN }, 1)).field).toBe(
      'evictionTimeoutMs',
    );
  });

  it('assessHeartbeats refuses the same values', () => {
    const e = thrown(() => assessHeartbeats([{ id: 'a', observedAt: 0 }], { evictionTimeoutMs: -1 }, 1));
    expect(e.field).toBe('evictionTimeoutMs');
  });

  it('the simulator refuses nonsense settings, naming the field', () => {
    const ok = {
      tunnelUpdatePeriod: 1,
      tunnelMonitorPeriod: 5,
      eipEvictionTimeout: 3,
      mode: 'deadline',
    } as const;
    const scenario = { durationMs: 10_000, faults: [] };
    for (const [field, value] of [
      ['eipEvictionTimeout', Number.NaN],
      ['tunnelUpdatePeriod', -1],
      ['tunnelMonitorPeriod', Number.POSITIVE_INFINITY],
      ['eipEvictionTimeout', 3_000],
      ['heartbeatLossRate', 1],
      ['jitter', -0.5],
    ] as const) {
      const e = thrown(() => simulateFailover({ ...ok, [field]: value }, scenario));
      expect(e.field).toBe(field);
      expect(e.message).toContain(field);
    }
    expect(thrown(() => simulateTrials(ok, { trials: 0 })).field).toBe('trials');
    expect(thrown(() => simulateTrials(ok, { trials: Number.NaN })).field).toBe('trials');
  });

  it('validateTiming keeps reporting, never throwing', () => {
    expect(
      validateTiming({ tunnelMonitorPeriod: 5, tunnelUpdatePeriod: 5, eipEvictionTimeout: Number.NaN }).map(
        (w) => [w.code, w.field],
      ),
    ).toEqual([['InvalidValue', 'eipEvictionTimeout']]);
    expect(
      validateTiming({ tunnelMonitorPeriod: 5, tunnelUpdatePeriod: 5, eipEvictionTimeout: 5 }).map(
        (w) => w.severity,
      ),
    ).toEqual(['warning', 'warning']);
  });
});
