import type { NodeDatapathState } from '@egressgateway/datapath';

/** The part of `DatapathBinder` the agent uses (a recording fake in tests). */
export interface Binder {
  /**
   * Makes the node's datapath match `desired`. `options.leaseMs` is the lease (ms from the call)
   * of the EIPs this call binds: the agent passes what is left before its fence deadline, so a
   * bind never leases an EIP past it.
   */
  apply(desired: NodeDatapathState, options?: { leaseMs?: number }): Promise<{ ok: boolean }>;
  /** Extends the kernel lifetime (s) and the lease (ms) of every held EIP. */
  renewEips(lifetimeSeconds: number, leaseMs?: number): Promise<unknown>;
  /** Removes every held EIP (self-fencing), keeping steering and SNAT. */
  withdrawEips(): Promise<unknown>;
  /** Removes everything the binder owns. */
  withdrawAll(): Promise<unknown>;
}
