import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface RootLoggerOptions {
  /** pino level name. @defaultValue 'info' */
  level?: string;
  /** Human-readable output; by default only when stderr is a terminal. */
  pretty?: boolean;
  /** Where JSON lines go (tests pass an in-memory stream). @defaultValue stderr */
  destination?: NodeJS.WritableStream;
}

/**
 * The one root logger of a process. Components take `logger.child({component})`
 * from it. Logs go to stderr so that `--json` output on stdout stays parseable.
 */
export function createRootLogger(options: RootLoggerOptions = {}): Logger {
  const base: LoggerOptions = { level: options.level ?? 'info', base: { pid: process.pid } };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } },
    });
  }
  return pino(base, pino.destination(2));
}
