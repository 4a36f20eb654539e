/** Failover timing of one lab run, in seconds (the Helm value names of the controller and agent). */
export interface LabTiming {
  tunnelUpdatePeriod: number;
  eipEvictionTimeout: number;
  tunnelMonitorPeriod: number;
  /** The agent's self-fencing margin before the eviction timeout. */
  fenceMargin: number;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
}

/** Fast settings for tests and the demo: update 0.5 s, eviction 2 s. */
export const FAST_TIMING: LabTiming = {
  tunnelUpdatePeriod: 0.5,
  eipEvictionTimeout: 2,
  tunnelMonitorPeriod: 5,
  fenceMargin: 0.5,
  leaseDuration: 4,
  renewDeadline: 3,
  retryPeriod: 0.5,
};

/** The seed document's settings (5/5/5) with the controller-runtime election defaults. */
export const SEED_TIMING: LabTiming = {
  tunnelUpdatePeriod: 5,
  eipEvictionTimeout: 5,
  tunnelMonitorPeriod: 5,
  fenceMargin: 0.5,
  leaseDuration: 15,
  renewDeadline: 10,
  retryPeriod: 2,
};

/** Thrown for timing the apps would reject or that makes no sense. */
export class TimingError extends Error {
  readonly code = 'EGW_LAB_TIMING';
}

/** Checks a timing; returns it unchanged when valid. */
export function validateLabTiming(t: LabTiming): LabTiming {
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new TimingError(`${k} must be a positive number of seconds, got ${String(v)}`);
  }
  if (t.fenceMargin >= t.eipEvictionTimeout)
    throw new TimingError(
      `fenceMargin (${t.fenceMargin}s) must be below eipEvictionTimeout (${t.eipEvictionTimeout}s)`,
    );
  if (!(t.leaseDuration > t.renewDeadline && t.renewDeadline > t.retryPeriod))
    throw new TimingError(
      `leader election needs leaseDuration > renewDeadline > retryPeriod, got ${t.leaseDuration}/${t.renewDeadline}/${t.retryPeriod}`,
    );
  return t;
}

/** `update/eviction/monitor` in seconds, as the summary prints it. */
export function describeTiming(t: LabTiming): string {
  return `update ${t.tunnelUpdatePeriod}s, eviction ${t.eipEvictionTimeout}s, monitor ${t.tunnelMonitorPeriod}s, fence margin ${t.fenceMargin}s, lease ${t.leaseDuration}/${t.renewDeadline}/${t.retryPeriod}s`;
}
