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
}

/**
 * A pino logger: JSON lines, or pretty output on a terminal (pino-pretty, when installed).
 * Messages are lower-case and stable, fields structured, so logs can be grepped and queried.
 */
export function createLogger(options: LogOptions = {}): pino.Logger {
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  return pino({
    level: options.level ?? 'info',
    ...(options.name ? { name: options.name } : {}),
    ...(format === 'pretty' ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
