/**
 * Timing of the peer protocol, in ms on each agent's own (rate-bounded, monotonic) clock. The names
 * follow docs/peers.md: P, D, L, w, ρ, E, M.
 */
export interface PeerTiming {
  /** P: an advert is sent at least this often (and at once on a change). */
  readonly advertPeriodMs: number;
  /** D: a peer silent this long on the receiver's clock is dead; backing moves away from it. */
  readonly deadIntervalMs: number;
  /** L: an acknowledgement of an advert sent at `s` is worth a lease until `s + L`. */
  readonly leaseMs: number;
  /** w: the longest time from the decision to withdraw until the node stopped answering. */
  readonly withdrawMs: number;
  /** ρ: bound on the rate error of every agent's clock (0.01 = 1 %). */
  readonly maxClockRateError: number;
  /** E: the controller's eviction timeout (the API fence). */
  readonly evictionTimeoutMs: number;
  /** M: the fence margin: a holder fences at `S + E - M` (S: send time of its last acked heartbeat). */
  readonly fenceMarginMs: number;
  /**
   * An agent advertises `apiOk` while its last acknowledged heartbeat was sent within this window.
   * Keep it at most `E - M - U - 2P` (U: the heartbeat period), so that a holder's peers certify an
   * outage before its own API fence ends; the default 1.5 s suits U up to 0.9 s (the agent derives
   * it from its settings).
   */
  readonly apiOkWindowMs: number;
  /**
   * J: the rejoin delay, for the API server as tie-breaker (docs/peers.md). A node's API right counts
   * for an EIP the status does not name it for only from J after its first clean heartbeat
   * acknowledgement (after its start, or after an evicted one); a holder that lost its peer majority
   * and read every other member's heartbeat Lease marked evicted keeps its API right for a little
   * less than J after the read. Unset: no tie-breaker (a holder without a majority fences after L).
   */
  readonly rejoinDelayMs?: number;
}

/** The defaults of docs/peers.md: P 50 ms, D 200 ms, L 150 ms, w 20 ms, ρ 1 %; E 3 s, M 0.5 s. */
export const DEFAULT_PEER_TIMING: PeerTiming = Object.freeze({
  advertPeriodMs: 50,
  deadIntervalMs: 200,
  leaseMs: 150,
  withdrawMs: 20,
  maxClockRateError: 0.01,
  evictionTimeoutMs: 3_000,
  fenceMarginMs: 500,
  apiOkWindowMs: 1_500,
});

/**
 * Settings the protocol cannot run safely or at all with. Carries the field and says how to fix it.
 */
export class PeerConfigError extends Error {
  /** Stable code for all configuration errors of this package. */
  readonly code = 'EGW_INVALID_PEER_CONFIG' as const;
  override readonly name = 'PeerConfigError';
  /** The setting that is wrong (`leaseMs`, `deadIntervalMs`, `members`...). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/**
 * The largest clock-rate error ρ with which `timing` is still safe:
 * the root of `L/(1-ρ) + w = D/(1+ρ)` in [0, 1). 0 when even perfect clocks are unsafe.
 */
export function maxToleratedRateError(
  timing: Pick<PeerTiming, 'deadIntervalMs' | 'leaseMs' | 'withdrawMs'>,
): number {
  const { deadIntervalMs: D, leaseMs: L, withdrawMs: w } = timing;
  const margin = (r: number) => D / (1 + r) - L / (1 - r) - w;
  if (!(margin(0) > 0)) return 0;
  let lo = 0;
  let hi = 0.999999;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (margin(mid) > 0) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Refuses settings that break the safety condition `L/(1-ρ) + w < D/(1+ρ)` or make the protocol
 * unable to work, throwing a {@link PeerConfigError} naming the field and the fix. Returns the
 * liveness margin: the largest one-way message delay δ with which a holder keeps its lease
 * (`2δ < L/(1+ρ) - 2P/(1-ρ)`); a holder whose peers answer slower than that loses its EIP.
 *
 * @example
 * ```ts
 * validatePeerTiming(DEFAULT_PEER_TIMING); // { maxMessageDelayMs: 23.7... }
 * validatePeerTiming({ ...DEFAULT_PEER_TIMING, leaseMs: 190 });
 * // throws PeerConfigError: leaseMs: L/(1-ρ) + w = 211.9 ms is not below D/(1+ρ) = 198.0 ms ...
 * ```
 */
export function validatePeerTiming(timing: PeerTiming): { readonly maxMessageDelayMs: number } {
  for (const [field, v] of Object.entries(timing) as [keyof PeerTiming, number][]) {
    if (field === 'rejoinDelayMs' && v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new PeerConfigError(
        field,
        `${field}: ${String(v)} is not a finite non-negative number; set it in ms`,
      );
    }
  }
  const { advertPeriodMs: P, deadIntervalMs: D, leaseMs: L, withdrawMs: w, maxClockRateError: r } = timing;
  if (r >= 1) {
    throw new PeerConfigError(
      'maxClockRateError',
      `maxClockRateError: ${r} is a fraction (0.01 = 1 %), set it below 1`,
    );
  }
  if (P <= 0) throw new PeerConfigError('advertPeriodMs', 'advertPeriodMs: must be above 0 (default 50)');
  const oldRight = L / (1 - r) + w;
  const takeover = D / (1 + r);
  if (!(oldRight < takeover)) {
    const maxL = Math.floor((takeover - w) * (1 - r) - 1e-9);
    const minD = Math.ceil(oldRight * (1 + r) + 1e-9);
    throw new PeerConfigError(
      'leaseMs',
      `leaseMs: L/(1-ρ) + w = ${oldRight.toFixed(1)} ms is not below D/(1+ρ) = ${takeover.toFixed(1)} ms, so a ` +
        `successor could answer while the old holder still does; lower leaseMs to at most ${maxL}, or raise ` +
        `deadIntervalMs to at least ${minD}, or lower withdrawMs or maxClockRateError`,
    );
  }
  const maxDelay = (L / (1 + r) - (2 * P) / (1 - r)) / 2;
  if (!(maxDelay > 0)) {
    throw new PeerConfigError(
      'advertPeriodMs',
      `advertPeriodMs: 2P/(1-ρ) = ${((2 * P) / (1 - r)).toFixed(1)} ms is not below L/(1+ρ) = ` +
        `${(L / (1 + r)).toFixed(1)} ms, so no holder can keep its lease; lower advertPeriodMs below ` +
        `${Math.floor((L * (1 - r)) / (2 * (1 + r)))} or raise leaseMs`,
    );
  }
  const J = timing.rejoinDelayMs;
  if (J !== undefined && !(J / (1 + r) > w + P)) {
    throw new PeerConfigError(
      'rejoinDelayMs',
      `rejoinDelayMs: J/(1+ρ) = ${(J / (1 + r)).toFixed(1)} ms leaves no time to rely on a read of the ` +
        `eviction marks (it must exceed w + P = ${w + P} ms); raise it (1000 is a good value) or unset it`,
    );
  }
  if (timing.fenceMarginMs >= timing.evictionTimeoutMs) {
    throw new PeerConfigError(
      'fenceMarginMs',
      `fenceMarginMs: ${timing.fenceMarginMs} must be below evictionTimeoutMs ${timing.evictionTimeoutMs}`,
    );
  }
  return { maxMessageDelayMs: maxDelay };
}
