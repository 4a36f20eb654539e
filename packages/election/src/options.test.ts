import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from './errors.js';
import { DEFAULT_TIMING, JITTER_FACTOR, maxToleratedDrift, resolveTiming } from './options.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidOptionsError) return err.field;
    throw err;
  }
  return undefined;
}

describe('resolveTiming', () => {
  it('defaults to client-go’s 15 s / 10 s / 2 s, request timeout = retry period', () => {
    expect(resolveTiming()).toEqual({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      requestTimeoutMs: 2_000,
    });
    expect(DEFAULT_TIMING).toEqual(resolveTiming());
    expect(resolveTiming({ retryPeriodMs: 1_000 }).requestTimeoutMs).toBe(1_000);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s for every duration', (bad) => {
    for (const field of [
      'leaseDurationMs',
      'renewDeadlineMs',
      'retryPeriodMs',
      'requestTimeoutMs',
    ] as const) {
      expect(fieldOf(() => resolveTiming({ [field]: bad }))).toBe(field);
    }
  });

  it('requires leaseDuration > renewDeadline (equal is rejected)', () => {
    expect(fieldOf(() => resolveTiming({ leaseDurationMs: 10_000 }))).toBe('leaseDurationMs');
    expect(fieldOf(() => resolveTiming({ leaseDurationMs: 10_001 }))).toBeUndefined();
    expect(() => resolveTiming({ leaseDurationMs: 9_000 })).toThrow(/greater than renewDeadlineMs \(10000\)/);
  });

  it('requires renewDeadline > retryPeriod × jitter factor (equal is rejected)', () => {
    expect(JITTER_FACTOR).toBe(1.2);
    expect(fieldOf(() => resolveTiming({ renewDeadlineMs: 2_400 }))).toBe('renewDeadlineMs');
    expect(fieldOf(() => resolveTiming({ renewDeadlineMs: 2_401 }))).toBeUndefined();
    expect(() => resolveTiming({ retryPeriodMs: 9_000 })).toThrow(
      /lower retryPeriodMs or raise renewDeadlineMs/,
    );
  });

  it('requires requestTimeout ≤ renewDeadline', () => {
    expect(fieldOf(() => resolveTiming({ requestTimeoutMs: 10_001 }))).toBe('requestTimeoutMs');
    expect(resolveTiming({ requestTimeoutMs: 10_000 }).requestTimeoutMs).toBe(10_000);
  });

  it('errors carry a stable code and the field path in the message', () => {
    try {
      resolveTiming({ retryPeriodMs: -5 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).code).toBe('ERR_ELECTION_INVALID_OPTIONS');
      expect((err as Error).message).toMatch(/^retryPeriodMs: /);
    }
  });
});

describe('maxToleratedDrift', () => {
  it('is (L − R) / (L + R): 20 % at the defaults, 0 as R approaches L', () => {
    expect(maxToleratedDrift(DEFAULT_TIMING)).toBeCloseTo(0.2, 12);
    expect(maxToleratedDrift({ leaseDurationMs: 6_000, renewDeadlineMs: 4_000 })).toBeCloseTo(0.2, 12);
    expect(maxToleratedDrift({ leaseDurationMs: 10_001, renewDeadlineMs: 10_000 })).toBeLessThan(0.0001);
  });
});
