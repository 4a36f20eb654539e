import type { NodeDatapathState } from '@egressgateway/datapath';

/** The part of `DatapathBinder` the agent uses (a recording fake in tests). */
export interface Binder {
  /**
   * Makes the node's datapath match `desired`. `options.leaseMs` is the lease (ms from the call)
   * of the EIPs this call binds: the agent passes what is left before its fence deadline, so a
   * bind never leases an EIP past it.
   */
  apply(
    desired: NodeDatapathState,
    options?: { leaseMs?: number },
  ): Promise<{ ok: boolean; applied?: readonly { text: string; ms: number }[]; observeMs?: number }>;
  /**
   * Sets the lease of every held EIP to end `leaseMs` after the call (the binder writes it off its
   * apply queue; the newest call wins) and keeps the kernel lifetime (s) from running out.
   */
  renewEips(lifetimeSeconds: number, leaseMs?: number): Promise<unknown>;
  /**
   * Gives up these EIPs at once, off the apply queue: lease ended first, then the address removed
   * (`DatapathBinder.releaseEips`). Optional: without it, the next apply removes them.
   */
  releaseEips?(addresses: readonly string[]): Promise<unknown>;
  /** Removes every held EIP (self-fencing), keeping steering and SNAT. */
  withdrawEips(): Promise<unknown>;
  /** Removes everything the binder owns. */
  withdrawAll(): Promise<unknown>;
}
