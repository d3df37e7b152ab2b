import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { pino, stdSerializers } from 'pino';
import type { LogFn, Logger, LoggerOptions as PinoOptions } from 'pino';
import type PinoPretty from 'pino-pretty';
import { printable } from './printable.js';
import { redact } from './redact.js';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Pretty, coloured lines for a person; JSON lines for machines. Default: pretty on a TTY. */
  pretty?: boolean;
  /** Where to write; default stdout. */
  destination?: NodeJS.WritableStream;
}

const PRETTY: PinoPretty.PrettyOptions = {
  translateTime: 'SYS:HH:MM:ss.l',
  ignore: 'pid,hostname',
};

type Clean = (text: string) => string;

/**
 * The hub's logger. Secrets never reach it unmasked: URLs go through maskUrl() before they
 * are logged, the redact paths below catch credentials in structured fields, and every message
 * and every `err` (message and stack) passes through redact(), which also catches what another
 * library put in an error.
 *
 * A pretty line goes to a terminal, so nothing in it may drive one: a message is escaped whole
 * (pino-pretty prints it bare), and the finished line is escaped once more for everything else —
 * fields, child bindings, keys — keeping only line breaks, which in those places are a stack's.
 * JSON escapes control characters by itself.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const message: Clean = pretty ? (text) => printable(redact(text)) : redact;
  const base: PinoOptions = {
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
    hooks: {
      // Runs only for enabled levels: a disabled debug line still costs nothing.
      logMethod(args, method) {
        method.apply(this, cleanArgs(args, message) as Parameters<LogFn>);
      },
      ...(pretty && { streamWrite: escapeJsonLine }),
    },
    serializers: { err: cleanErr },
  };
  if (pretty && !options.destination) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { ...PRETTY, colorize: true } },
    });
  }
  if (pretty) {
    // Pretty lines into a given stream (tests, an embedding program): formatted in this thread,
    // and pino-pretty loaded only then (it takes longer to load than the rest of the logger).
    const destination = options.destination!;
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const format = prettyFactory({
      ...PRETTY,
      colorize: Boolean((destination as { isTTY?: boolean }).isTTY),
    });
    const stream = new Writable({
      write(chunk, _encoding, done) {
        destination.write(format(String(chunk)));
        done();
      },
    });
    return pino(base, stream);
  }
  return options.destination
    ? pino(base, options.destination as unknown as pino.DestinationStream)
    : pino(base);
}

/**
 * An escape of a JSON string (`\u001b`, `\r`, `\\`…) or a character JSON leaves raw that a
 * terminal still obeys (DEL, C1, bidi controls, line separators).
 */
const JSON_UNSAFE = /\\(u[0-9a-fA-F]{4}|.)|[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON's short escapes of control characters; `\n` is missing on purpose: stacks keep lines. */
const SHORT: Record<string, string> = { b: '\b', f: '\f', r: '\r', t: '\t' };

/** A finished JSON line whose strings show, once decoded, visible escapes instead of controls. */
function escapeJsonLine(line: string): string {
  return line.replace(JSON_UNSAFE, (whole, escaped: string | undefined) => {
    if (escaped === undefined) return `\\${printable(whole)}`;
    const char =
      escaped.length === 5 ? String.fromCharCode(parseInt(escaped.slice(1), 16)) : SHORT[escaped];
    if (char === undefined) return whole;
    const shown = printable(char);
    // A backslash before the visible escape, so that decoding yields the escape, not the control.
    return shown === char ? whole : `\\${shown}`;
  });
}

/**
 * The message and interpolated strings of one log call, cleaned; the same array when nothing
 * changed. When a call gives no message, pino shows the error's own: that one is supplied,
 * cleaned, so it cannot slip past.
 */
function cleanArgs(args: unknown[], clean: Clean): unknown[] {
  let out = args;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg !== 'string') continue;
    const cleaned = clean(arg);
    if (cleaned === arg) continue;
    if (out === args) out = args.slice();
    out[i] = cleaned;
  }
  const first = args[0];
  if (args.length === 1 && typeof first === 'object' && first !== null) {
    const carrier = first as { msg?: unknown; err?: { message?: unknown } };
    const error = first instanceof Error ? first : carrier.err;
    if (carrier.msg === undefined && typeof error?.message === 'string')
      out = [first, clean(error.message)];
  }
  return out;
}

/**
 * `err` as pino serialises it (type, message and stack with their causes, own fields), with
 * every string redacted.
 */
function cleanErr(error: unknown): unknown {
  const serialized = stdSerializers.err(error as Error);
  // Something that is not error-like comes back as it was given: it is not ours to write to.
  if ((serialized as unknown) === error) return cleanValue(error, 0);
  return cleanSerialized(serialized as unknown as Record<string, unknown>, 0);
}

/** A serialised error (and the errors it holds, which share its prototype), cleaned in place. */
function cleanSerialized(target: Record<string, unknown>, depth: number): Record<string, unknown> {
  const proto = Object.getPrototypeOf(target);
  const nested = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === proto;
  const one = (value: unknown): unknown =>
    nested(value) && depth < MAX_DEPTH ? cleanSerialized(value, depth + 1) : cleanValue(value, 0);
  for (const key of Object.keys(target)) {
    const value = target[key];
    target[key] = Array.isArray(value) && value.some(nested) ? value.map(one) : one(value);
  }
  return target;
}

const MAX_DEPTH = 4;

/** Strings redacted in plain objects and arrays, copied only where something changed. */
function cleanValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redact(value);
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const cleaned = cleanValue(item, depth + 1);
      if (cleaned !== item) (out ??= value.slice())[i] = cleaned;
    });
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const cleaned = cleanValue(item, depth + 1);
    if (cleaned !== item) (out ??= { ...value })[key] = cleaned;
  }
  return out ?? value;
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
