import type { LeaseRecord, LockState } from './lock.js';

/** What a candidate or leader should do next, given what it last observed. */
export type Decision =
  /** No record exists: create it with us as holder. */
  | { readonly action: 'create' }
  /** We hold the record: renew it. */
  | { readonly action: 'renew' }
  /** The record is free (released) or expired by our own observed time: take it. */
  | { readonly action: 'acquire'; readonly reason: 'free' | 'expired' }
  /** Someone else holds it: wait until `expiresAtMs` (our clock) unless it changes. */
  | { readonly action: 'wait'; readonly holder: string; readonly expiresAtMs: number };

/** Inputs of {@link decide}; all instants are on the deciding host's own clock. */
export interface DecideInput {
  readonly state: LockState | undefined;
  /** Local instant at which we saw the current version for the first time. */
  readonly observedAtMs: number;
  readonly nowMs: number;
  readonly identity: string;
  /** Used when the record carries no usable duration. */
  readonly fallbackLeaseDurationMs: number;
}

/** The lease duration a record asks others to respect. */
export function recordLeaseDurationMs(record: LeaseRecord, fallbackMs: number): number {
  return Number.isFinite(record.leaseDurationMs) && record.leaseDurationMs > 0
    ? record.leaseDurationMs
    : fallbackMs;
}

/**
 * client-go's acquire rule as a pure function. Expiry is judged only by how long *we* have seen
 * the same version (`nowMs ≥ observedAtMs + leaseDuration`), never by the holder's timestamps,
 * so clock offsets between hosts cannot matter.
 *
 * @example
 * ```ts
 * decide({ state, observedAtMs: 1000, nowMs: 16_000, identity: 'b', fallbackLeaseDurationMs: 15_000 });
 * // { action: 'acquire', reason: 'expired' } when state is held by 'a' at an unchanged version
 * ```
 */
export function decide(input: DecideInput): Decision {
  const { state } = input;
  if (state === undefined) return { action: 'create' };
  const holder = state.record.holderIdentity;
  if (holder === input.identity) return { action: 'renew' };
  if (holder === '') return { action: 'acquire', reason: 'free' };
  const expiresAtMs = input.observedAtMs + recordLeaseDurationMs(state.record, input.fallbackLeaseDurationMs);
  if (input.nowMs >= expiresAtMs) return { action: 'acquire', reason: 'expired' };
  return { action: 'wait', holder, expiresAtMs };
}

/** The record we write to take or keep the lease. */
export function nextRecord(
  previous: LeaseRecord | undefined,
  identity: string,
  leaseDurationMs: number,
  nowIso: string,
): LeaseRecord {
  const keep = previous !== undefined && previous.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationMs,
    acquireTime: keep ? previous.acquireTime : nowIso,
    renewTime: nowIso,
    leaseTransitions: previous === undefined ? 0 : previous.leaseTransitions + (keep ? 0 : 1),
  };
}

/** The record we write on graceful release: no holder, so anyone may take it at once. */
export function releasedRecord(previous: LeaseRecord, nowIso: string): LeaseRecord {
  return { ...previous, holderIdentity: '', renewTime: nowIso };
}
