/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * The logging surface the election needs: a subset of pino's (`logger.info(fields, msg)`), so
 * a pino child logger can be passed as is. Messages are lower-case and stable (searchable).
 */
export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
}

/** Discards everything (the default). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/**
 * Hooks for metrics (all optional). Wire them to prom-client or any other library; the
 * election itself depends on none.
 */
export interface ElectionMetrics {
  /** A term started (`leading: true`) or ended (`leading: false`, with the reason). */
  transition?(event: { identity: string; leading: boolean; reason: string; atMs: number }): void;
  /** One acquire/renew write finished after `ms` (`ok` false on any failure). */
  renewLatency?(ms: number, ok: boolean): void;
  /** A term ended after lasting `ms`. */
  termDuration?(ms: number): void;
  /** A lock operation failed (conflicts are counted too: they mean contention). */
  lockError?(op: 'get' | 'create' | 'update', code: string): void;
}
