/**
 * Logging (DESIGN.md section 8): winston, JSON in production, constant messages with data in fields.
 * Library code receives a Logger; only entry points create one.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  /** `json` for machines (default), `pretty` for a terminal. */
  format?: 'json' | 'pretty';
  /** Fields stamped on every line (component, node...). */
  defaultMeta?: Record<string, unknown>;
  /** Write to stderr (default) so stdout stays free for command output. */
  silent?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format =
    options.format === 'pretty'
      ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.simple())
      : winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json());
  return winston.createLogger({
    level: options.level ?? 'info',
    format,
    defaultMeta: options.defaultMeta,
    silent: options.silent ?? false,
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
}

/** A logger that drops everything: the default for library code under test. */
export function silentLogger(): Logger {
  return createLogger({ silent: true });
}
