import { describe, expect, it } from 'vitest';
import { decide, nextRecord, recordLeaseDurationMs, releasedRecord } from './decide.js';
import { toMicroTime } from './lock.js';

const held = (holderIdentity: string, leaseDurationMs = 15_000) => ({
  version: '3',
  record: { holderIdentity, leaseDurationMs, acquireTime: 'A', renewTime: 'R', leaseTransitions: 2 },
});

describe('decide', () => {
  const base = { observedAtMs: 100, nowMs: 100, identity: 'me', fallbackLeaseDurationMs: 15_000 };
  it('creates a missing record, renews its own, takes a free one', () => {
    expect(decide({ ...base, state: undefined })).toEqual({ action: 'create' });
    expect(decide({ ...base, state: held('me') })).toEqual({ action: 'renew' });
    expect(decide({ ...base, state: held('') })).toEqual({ action: 'acquire', reason: 'free' });
  });
  it('waits until exactly observedAt + leaseDuration, then takes an expired record', () => {
    expect(decide({ ...base, nowMs: 15_099, state: held('x') })).toEqual({
      action: 'wait',
      holder: 'x',
      expiresAtMs: 15_100,
    });
    expect(decide({ ...base, nowMs: 15_100, state: held('x') })).toEqual({
      action: 'acquire',
      reason: 'expired',
    });
  });
  it('falls back to its own lease duration when the record has none', () => {
    expect(recordLeaseDurationMs(held('x', 0).record, 7)).toBe(7);
    expect(recordLeaseDurationMs(held('x', Number.NaN).record, 7)).toBe(7);
    expect(decide({ ...base, fallbackLeaseDurationMs: 50, nowMs: 150, state: held('x', 0) }).action).toBe(
      'acquire',
    );
  });
});

describe('records', () => {
  it('nextRecord keeps acquireTime on renewal and counts transitions on takeover', () => {
    expect(nextRecord(undefined, 'me', 15_000, 'T')).toEqual({
      holderIdentity: 'me',
      leaseDurationMs: 15_000,
      acquireTime: 'T',
      renewTime: 'T',
      leaseTransitions: 0,
    });
    expect(nextRecord(held('me').record, 'me', 15_000, 'T')).toMatchObject({
      acquireTime: 'A',
      renewTime: 'T',
      leaseTransitions: 2,
    });
    expect(nextRecord(held('x').record, 'me', 9_000, 'T')).toMatchObject({
      acquireTime: 'T',
      leaseDurationMs: 9_000,
      leaseTransitions: 3,
    });
  });
  it('releasedRecord clears the holder and keeps the rest', () => {
    expect(releasedRecord(held('me').record, 'T')).toEqual({
      ...held('me').record,
      holderIdentity: '',
      renewTime: 'T',
    });
  });
  it('toMicroTime writes six fractional digits, keeping sub-millisecond precision', () => {
    expect(toMicroTime(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(toMicroTime(Date.UTC(2026, 10, 25, 23, 41, 57, 123) + 0.456)).toBe('2026-11-25T23:41:57.123456Z');
    expect(toMicroTime(1.9999)).toBe('1970-01-01T00:00:00.001999Z');
  });
});
