import type { Announcement, AnnouncerTools, EipConflict } from './announcer.js';
import type { Ownership } from './model.js';
import type { DatapathOperation } from './operations.js';

/** Options of {@link DatapathBinder.open}. All optional. */
export interface DatapathBinderOptions {
  /** What the binder owns; defaults in `DEFAULT_OWNERSHIP`. */
  readonly ownership?: Partial<Ownership>;
  /** Kernel lifetime (valid_lft = preferred_lft) given to a newly bound EIP. Default 30 s. */
  readonly eipLifetimeSeconds?: number;
  /**
   * Lease (ms) given to a newly bound EIP: when it runs out without a `renewEips`, nftables
   * stops the node claiming the EIP (drops ARP and IPv6 neighbour discovery from it). Default: the
   * lifetime.
   */
  readonly eipLeaseMs?: number;
  /** Gratuitous ARP / unsolicited NA on bind. Default `{ count: 2, repeatAfterMs: 3000 }`. */
  readonly announce?: { readonly count: number; readonly repeatAfterMs: number } | false;
  /** Probe for another owner right after binding (in the background). Default true. */
  readonly probeAfterBind?: boolean;
  /** Called when a probe finds another owner of one of our EIPs. */
  readonly onConflict?: (conflict: EipConflict) => void;
  /** Called for errors of background helpers (announcements, probes). */
  readonly onBackgroundError?: (what: string, err: Error) => void;
  /** Helper program paths. */
  readonly tools?: Partial<AnnouncerTools> & { readonly nft?: string };
  /**
   * Monotonic milliseconds: durations in reports and the clock of every lease deadline
   * (`apply`'s `leaseUntil`, `renewLeases`). Default `performance.now`.
   */
  readonly now?: () => number;
}

/** Outcome of one operation in a report. */
export interface OperationResult {
  readonly operation: DatapathOperation;
  /** `describeOperation` text. */
  readonly text: string;
  readonly ms: number;
}

/**
 * What an apply (or withdraw) did. A failure stops the run at the failed operation: `applied`
 * ran, `failed` did not succeed, `notApplied` were not attempted. The next apply re-observes
 * the kernel and converges from wherever it is.
 */
export interface ApplyReport {
  readonly ok: boolean;
  readonly applied: readonly OperationResult[];
  readonly failed?: { readonly operation: DatapathOperation; readonly text: string; readonly error: string };
  readonly notApplied: readonly string[];
  /** EIPs announced by this run (first packet already sent when the report is returned). */
  readonly announced: readonly Announcement[];
  /** Desired EIPs not bound because a foreign (not ours) address with that value exists. */
  readonly foreignEips: readonly string[];
  /** Conflicts known when the run ended (from earlier background probes or `probeConflicts`). */
  readonly conflicts: readonly EipConflict[];
  readonly observeMs: number;
  readonly planMs: number;
  readonly executeMs: number;
  readonly totalMs: number;
}

/** Result of {@link DatapathBinder.renewLeases} and {@link DatapathBinder.renewEips}. */
export interface RenewReport {
  readonly renewed: readonly string[];
  readonly failed: readonly { readonly address: string; readonly error: string }[];
  readonly ms: number;
}

/** Result of {@link DatapathBinder.releaseEips}. */
export interface ReleaseReport {
  /** EIPs whose lease ended and whose address is gone (or was not bound). */
  readonly released: readonly string[];
  readonly failed: readonly { readonly address: string; readonly error: string }[];
  readonly ms: number;
}
