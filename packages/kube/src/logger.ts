import { pino } from 'pino';

/** The logging surface the libraries use: pino's `(fields, message)` call shape. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  child(bindings: object): Logger;
}

/** A logger that drops everything (the default of library code). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/** Log settings of the apps. */
export interface LogOptions {
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** `json` (default when not a TTY) or `pretty` (default on a TTY). */
  format?: 'json' | 'pretty';
  name?: string;
  /** The module of the pretty transport (default `pino-pretty`, which this package does not install). */
  prettyModule?: string;
}

/**
 * A pino logger: JSON lines, or pretty output on a terminal through `pino-pretty` when that is
 * installed. Without it, the logger writes JSON and its first line (a warning) says why, so a
 * terminal never gets a crash for a missing optional module. Messages are lower-case and stable,
 * fields structured, so logs can be grepped and queried. `destination` (default stdout) receives the
 * JSON lines.
 */
export function createLogger(options: LogOptions = {}, destination?: pino.DestinationStream): pino.Logger {
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const base = { level: options.level ?? 'info', ...(options.name ? { name: options.name } : {}) };
  const json = () => (destination ? pino(base, destination) : pino(base));
  if (format !== 'pretty') return json();
  const target = options.prettyModule ?? 'pino-pretty';
  try {
    return pino({ ...base, transport: { target, options: { colorize: true } } });
  } catch (err) {
    const log = json();
    log.warn(
      { module: target, err: err instanceof Error ? err.message : String(err) },
      `pretty log output needs the package ${target}, which is not installed: logging json lines (npm install ${target}, or set the log format to json)`,
    );
    return log;
  }
}
