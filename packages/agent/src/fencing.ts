/**
 * Self-fencing arithmetic (pure). Why it is safe:
 *
 * The controller moves a node's EIPs at `O + E`, where `O` is when it observed the node's last
 * heartbeat and `E` the eviction timeout. That heartbeat was *sent* at `S <= O`. So if the agent
 * lets go of its EIPs at `S + E - M` (M > 0, the margin), it has let go before the controller can
 * act, whatever the network did to later heartbeats. The agent only knows when it sent a write and
 * when the write was acknowledged, so it fences at `lastAckedSentAt + E - M`.
 *
 * The kernel enforces the same when the agent cannot act (killed, frozen): EIPs carry a lifetime
 * that the agent extends only right after an acknowledged heartbeat, at `A`, to
 * `L = floor((S + E - M - A) / 1 s)` seconds: counted from the send time, so however late the
 * acknowledgement comes, the kernel drops the address by `S + E - M + k` (k: the kernel's expiry
 * lag, measured 20-80 ms here), before the move at `O + E >= S + E` as long as `M > k`. When less
 * than a second is left, it does not renew (the next heartbeat does), except with sub-second
 * settings, where 1 s is the floor. A newly bound EIP gets `floor((E - M) / 1 s)` and is
 * brought under the same deadline right after the bind. Kernel lifetimes are whole seconds, at
 * least 1: with `E - M < 1 s` the kernel backstop cannot be earlier than the move (the agent's own
 * fence still covers partitions), and a killed agent's address can outlive the move by at most
 * `1 s + k - (E - M)`; use `E >= 1 s + M` to close that window (defaults: E = 3 s, M = 0.5 s).
 */

/** Fencing settings in ms. */
export interface FencingSettings {
  evictionTimeoutMs: number;
  /** Safety margin M (default 500 ms). */
  marginMs?: number;
}

/** The margin used when none is configured. */
export const DEFAULT_FENCE_MARGIN_MS = 500;

/** Instant at which the agent must have withdrawn its EIPs, given the send time of its last acknowledged heartbeat. */
export function fenceDeadline(lastAckedSentAt: number, s: FencingSettings): number {
  return lastAckedSentAt + s.evictionTimeoutMs - (s.marginMs ?? DEFAULT_FENCE_MARGIN_MS);
}

/**
 * Lifetime (whole seconds) to give held EIPs right now, so that they expire by the fence deadline
 * of the last acknowledged heartbeat: `floor((sentAt + E - M - now) / 1 s)`. Counting from the
 * send time, not the acknowledgement, keeps a slow response from stretching the lifetime past the
 * controller's move. 0 means: do not renew (the deadline is less than a second away).
 */
export function renewLifetimeSeconds(lastAckedSentAt: number, now: number, s: FencingSettings): number {
  const left = fenceDeadline(lastAckedSentAt, s) - now;
  // Sub-second settings (E - M < 1 s): the kernel cannot go below 1 s, so renew with 1 s as long
  // as the deadline is ahead (the bounded overlap of killedAgentOverlapMs); the agent's own fence
  // still withdraws at the deadline.
  if (s.evictionTimeoutMs - (s.marginMs ?? DEFAULT_FENCE_MARGIN_MS) < 1000) return left > 0 ? 1 : 0;
  return Math.max(0, Math.floor(left / 1000));
}

/** Kernel lifetime (whole seconds, >= 1) given to newly bound EIPs (an upper bound; renewals shorten it). */
export function eipLifetimeSeconds(s: FencingSettings): number {
  return Math.max(1, Math.floor((s.evictionTimeoutMs - (s.marginMs ?? DEFAULT_FENCE_MARGIN_MS)) / 1000));
}

/**
 * Upper bound (ms) on how long a killed or frozen agent's EIP can outlive the controller's move
 * (0 when the kernel lifetime covers it). `kernelSlackMs` is the kernel's expiry lag.
 */
export function killedAgentOverlapMs(s: FencingSettings, kernelSlackMs = 100): number {
  const lifetimeMs = eipLifetimeSeconds(s) * 1000;
  return Math.max(
    0,
    lifetimeMs + kernelSlackMs - (s.evictionTimeoutMs - (s.marginMs ?? DEFAULT_FENCE_MARGIN_MS)),
  );
}

/** Problems with a fencing configuration, each with its numbers. */
export function fencingWarnings(s: FencingSettings & { updatePeriodMs: number }): string[] {
  const m = s.marginMs ?? DEFAULT_FENCE_MARGIN_MS;
  const out: string[] = [];
  if (s.evictionTimeoutMs - m <= s.updatePeriodMs) {
    out.push(
      `eipEvictionTimeout (${s.evictionTimeoutMs / 1000}s) minus the fence margin (${m / 1000}s) is not above tunnelUpdatePeriod (${s.updatePeriodMs / 1000}s): a single slow heartbeat fences a healthy node`,
    );
  }
  const overlap = killedAgentOverlapMs(s);
  if (overlap > 0) {
    out.push(
      `eipEvictionTimeout (${s.evictionTimeoutMs / 1000}s) is below 1s plus the fence margin: the kernel lifetime of a killed agent's EIP may outlive the move by up to ${overlap} ms`,
    );
  }
  return out;
}
