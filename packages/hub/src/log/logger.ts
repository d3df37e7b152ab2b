import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Pretty, coloured lines for a person; JSON lines for machines. Default: pretty on a TTY. */
  pretty?: boolean;
  /** Where to write; default stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * The hub's logger. Secrets never reach it unmasked: URLs go through maskUrl() before they
 * are logged, and the redact paths below catch credentials in structured fields.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const base = {
    level: options.level ?? process.env.TETHER_LOG_LEVEL ?? 'info',
    redact: {
      paths: [
        '*.headers.authorization',
        '*.headers.Authorization',
        '*.env',
        '*.token',
        '*.password',
        'headers.*',
      ],
      censor: '***',
    },
  };
  if (pretty && !options.destination) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return options.destination
    ? pino(base, options.destination as unknown as pino.DestinationStream)
    : pino(base);
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
