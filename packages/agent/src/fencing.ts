/**
 * Self-fencing arithmetic (pure). Why it is safe:
 *
 * The controller moves a node's EIPs at `O + E`, where `O` is when it observed the node's last
 * heartbeat and `E` the eviction timeout. That heartbeat was *sent* at `S <= O`. So if the node
 * lets go of its EIPs at `S + E - M` (M > 0, the margin), it has let go before the controller can
 * act, whatever the network did to later heartbeats. The agent only knows when it sent a write and
 * when the write was acknowledged, so it fences at `lastAckedSentAt + E - M`.
 *
 * The kernel enforces the same deadline when the agent cannot act (killed, frozen): right after
 * each acknowledged heartbeat, at `A`, the agent sets every held EIP's lease to
 * `S + E - M - A` milliseconds (counted from the send time, so however late the acknowledgement
 * comes, the lease ends at the deadline). A bind carries the same lease, counted from the bind:
 * what is left before that deadline, written in the nft transaction that precedes the bind, so not
 * even an agent killed between a bind and its next renewal leaves a claim past the deadline. The
 * lease is an nftables timeout-set element (see
 * `@egressgateway/datapath`): when it runs out, the kernel stops the node from claiming the EIP (no
 * ARP or IPv6 neighbour discovery from it) with millisecond precision and nothing left running;
 * forwarding goes on until the move, so a crash is invisible on the wire. It ends at
 * `S + E - M + w`, `w` being the lease write latency (one `nft` run, a few ms, plus a jiffy), so
 * any margin well above that is safe, sub-second settings included. The kernel address lifetime
 * (whole seconds) is set alongside, as clean-up of the unclaimed address: at least 1 s and never more
 * than the seconds left before the deadline, rounded down.
 */

/** Fencing settings in ms. */
export interface FencingSettings {
  evictionTimeoutMs: number;
  /** Safety margin M (default 500 ms). */
  marginMs?: number;
}

/** The margin used when none is configured. */
export const DEFAULT_FENCE_MARGIN_MS = 500;

/** Smallest margin that leaves room for the lease write latency (an `nft` run) and timer lag. */
export const MIN_FENCE_MARGIN_MS = 50;

/** Instant at which the agent must have withdrawn its EIPs, given the send time of its last acknowledged heartbeat. */
export function fenceDeadline(lastAckedSentAt: number, s: FencingSettings): number {
  return lastAckedSentAt + s.evictionTimeoutMs - (s.marginMs ?? DEFAULT_FENCE_MARGIN_MS);
}

/**
 * Lease (ms) to give held EIPs right now: what is left until the fence deadline of the last
 * acknowledged heartbeat. Counting from the send time, not the acknowledgement, keeps a slow
 * response from stretching the lease past the controller's move. 0 means: already past it.
 */
export function renewLeaseMs(lastAckedSentAt: number, now: number, s: FencingSettings): number {
  return Math.max(0, fenceDeadline(lastAckedSentAt, s) - now);
}

/**
 * Kernel lifetime (whole seconds) to set with a lease renewal: the whole seconds left before the
 * fence deadline, at least 1 while the deadline is ahead (the lease ends the node's claim at the
 * deadline; the lifetime only removes the address up to a second later). 0 when past it.
 */
export function renewLifetimeSeconds(lastAckedSentAt: number, now: number, s: FencingSettings): number {
  const left = renewLeaseMs(lastAckedSentAt, now, s);
  return left > 0 ? Math.max(1, Math.floor(left / 1000)) : 0;
}

/**
 * Kernel lifetime (whole seconds, >= 1) the binder gives EIPs bound without a lease (its
 * `eipLifetimeSeconds`): an upper bound. The agent binds with a lease, and the binder then sets the
 * whole seconds left before the fence deadline, at most this.
 */
export function eipLifetimeSeconds(s: FencingSettings): number {
  return Math.max(1, Math.floor(eipLeaseMs(s) / 1000));
}

/**
 * `E - M`: the binder's default lease (its `eipLeaseMs`) for EIPs bound without one. The agent never
 * relies on it: every bind carries what is left before the fence deadline (see
 * `FenceKeeper.bindLeaseMs`), so an agent killed right after a bind leaves no claim past it.
 */
export function eipLeaseMs(s: FencingSettings): number {
  return Math.max(1, s.evictionTimeoutMs - (s.marginMs ?? DEFAULT_FENCE_MARGIN_MS));
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
  if (m < MIN_FENCE_MARGIN_MS) {
    out.push(
      `fence margin (${m / 1000}s) is below ${MIN_FENCE_MARGIN_MS / 1000}s: the lease write latency may let a killed agent's EIP speak after the controller moved it`,
    );
  }
  return out;
}
