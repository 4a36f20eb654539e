/**
 * Failover timing settings, in seconds, under the Helm value names the upstream chart uses.
 */
export interface TimingSettings {
  /** Controller safety resync period (poll period in upstream's poll mode). */
  readonly tunnelMonitorPeriod: number;
  /** Agent heartbeat period. */
  readonly tunnelUpdatePeriod: number;
  /** A heartbeat older than this (by the controller's observed time) evicts the node's EIPs. */
  readonly eipEvictionTimeout: number;
}

/** Product default: agents heartbeat every second. */
export const DEFAULT_TUNNEL_UPDATE_PERIOD_S = 1;
/** Product default: a node is evicted 3 s after its last observed heartbeat. */
export const DEFAULT_EIP_EVICTION_TIMEOUT_S = 3;
/**
 * Product default: a full resync every 5 s. Only a safety net: detection is driven by the
 * engine's `nextWakeAt` deadline, not by this period.
 */
export const DEFAULT_TUNNEL_MONITOR_PERIOD_S = 5;

/** The product defaults as one object. */
export const DEFAULT_TIMING: TimingSettings = Object.freeze({
  tunnelMonitorPeriod: DEFAULT_TUNNEL_MONITOR_PERIOD_S,
  tunnelUpdatePeriod: DEFAULT_TUNNEL_UPDATE_PERIOD_S,
  eipEvictionTimeout: DEFAULT_EIP_EVICTION_TIMEOUT_S,
});

/** The values the upstream failover document gives (5/5/5): unsafe, kept for comparison. */
export const SEED_TIMING: TimingSettings = Object.freeze({
  tunnelMonitorPeriod: 5,
  tunnelUpdatePeriod: 5,
  eipEvictionTimeout: 5,
});

/** Stable codes of timing warnings. */
export type TimingWarningCode =
  | 'InvalidValue'
  | 'EvictionNotAboveUpdate'
  | 'SingleLostHeartbeatEvicts'
  | 'EvictionNotAboveMonitorPlusUpdate';

/** One finding of {@link validateTiming}. */
export interface TimingWarning {
  readonly code: TimingWarningCode;
  /** `error`: the setting cannot work; `warning`: it works but false evictions or slow failover are likely. */
  readonly severity: 'error' | 'warning';
  /** The setting to change (Helm value name). */
  readonly field: keyof TimingSettings;
  readonly message: string;
}

/** Options of {@link validateTiming}. */
export interface ValidateTimingOptions {
  /**
   * Slack (seconds) a heartbeat needs beyond its period: scheduling jitter, API write latency and
   * watch delivery. Default 0.5 s.
   */
  readonly marginS?: number;
  /**
   * `deadline` (this product: the controller wakes at the engine's `nextWakeAt`) or `poll` (upstream:
   * it only checks every monitor period). Default `deadline`.
   */
  readonly mode?: 'deadline' | 'poll';
}

/**
 * Checks failover timing settings and returns warnings (empty when the settings are sound). Never throws.
 *
 * - `EvictionNotAboveUpdate`: eviction <= update + margin. A heartbeat that is merely late evicts a
 *   healthy node (false evictions likely). The upstream document's 5/5/5 trips this.
 * - `SingleLostHeartbeatEvicts`: eviction <= 2 x update. One lost or failed heartbeat write evicts.
 * - `EvictionNotAboveMonitorPlusUpdate` (poll mode only): the upstream rule eviction > monitor + update.
 *
 * @example
 * ```ts
 * validateTiming({ tunnelMonitorPeriod: 5, tunnelUpdatePeriod: 5, eipEvictionTimeout: 5 })
 *   .map((w) => w.code); // ['EvictionNotAboveUpdate', 'SingleLostHeartbeatEvicts']
 * validateTiming(DEFAULT_TIMING); // []
 * ```
 */
export function validateTiming(
  settings: TimingSettings,
  options: ValidateTimingOptions = {},
): TimingWarning[] {
  const warnings: TimingWarning[] = [];
  const fields: Array<keyof TimingSettings> = [
    'tunnelMonitorPeriod',
    'tunnelUpdatePeriod',
    'eipEvictionTimeout',
  ];
  for (const field of fields) {
    const v = settings[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      warnings.push({
        code: 'InvalidValue',
        severity: 'error',
        field,
        message: `${field} must be a positive number of seconds, got ${String(v)}`,
      });
    }
  }
  if (warnings.length > 0) return warnings;
  const margin = options.marginS ?? 0.5;
  const { tunnelMonitorPeriod: monitor, tunnelUpdatePeriod: update, eipEvictionTimeout: eviction } = settings;
  if (eviction <= update + margin) {
    warnings.push({
      code: 'EvictionNotAboveUpdate',
      severity: 'warning',
      field: 'eipEvictionTimeout',
      message:
        `eipEvictionTimeout (${eviction}s) must exceed tunnelUpdatePeriod (${update}s) plus ${margin}s of ` +
        `jitter and write latency, or a late heartbeat evicts a healthy node (false evictions likely); ` +
        `use at least ${2 * update + margin}s`,
    });
  }
  if (eviction <= 2 * update) {
    warnings.push({
      code: 'SingleLostHeartbeatEvicts',
      severity: 'warning',
      field: 'eipEvictionTimeout',
      message:
        `eipEvictionTimeout (${eviction}s) is not above two tunnelUpdatePeriods (${2 * update}s): ` +
        'a single lost heartbeat write evicts a healthy node',
    });
  }
  if ((options.mode ?? 'deadline') === 'poll' && eviction <= monitor + update) {
    warnings.push({
      code: 'EvictionNotAboveMonitorPlusUpdate',
      severity: 'warning',
      field: 'eipEvictionTimeout',
      message: `in poll mode eipEvictionTimeout (${eviction}s) should exceed tunnelMonitorPeriod + tunnelUpdatePeriod (${monitor + update}s)`,
    });
  }
  return warnings;
}
