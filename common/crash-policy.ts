import { Counter, type Registry } from 'prom-client';
import { SciClusterError, type SciClusterErrorOptions } from './errors.js';
import type { Logger } from './logger.js';

/*
 * What may end a process. A long-running process (coordinator, worker,
 * shard server, API, pipeline driver) serves strangers' messages and
 * requests; a failure while handling one of them is that request's
 * failure, never the process's. So:
 *
 * - handlers contain their own errors (their own try/catch, answering an
 *   error frame where a reply is expected), and `noteContained` logs each with
 *   the request or task it belongs to and counts it by site and code;
 * - anything that still escapes (an unhandled rejection, an exception
 *   thrown from an event listener) is caught here, logged with a typed
 *   code and counted: the process keeps serving;
 * - only a `ProcessFatalError` (startup failed, infrastructure lost for
 *   good) ends the process, logged first with its code.
 *
 * `installCrashPolicy` runs in the CLI's `main` (every process is a `sci`
 * command), so a new entry point cannot forget it; `commandContext` hands
 * it the command's root logger.
 */

/** Why a process must end: it could not start, or what it runs on is gone for good. */
export class ProcessFatalError extends SciClusterError {
  constructor(code: 'STARTUP_FAILED' | 'INFRASTRUCTURE_LOST', message: string, options: SciClusterErrorOptions = {}) {
    super(code, message, options, { retryable: false, status: 500 });
  }
}

/** The process's exit code after a fatal error (EX_SOFTWARE). */
export const FATAL_EXIT_CODE = 70;

interface PolicyState {
  logger: Logger | null;
  counters: Set<Counter<'site' | 'code'>>;
  installed: boolean;
}
const state: PolicyState = { logger: null, counters: new Set(), installed: false };

/** The error's stable code: ours, Node's (`ERR_…`), or INTERNAL. */
export function errorCode(err: unknown): string {
  if (err instanceof SciClusterError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'INTERNAL';
}

/**
 * Registers `sci_contained_errors_total{site, code}` in a process registry: every contained failure
 * (and every escaped one caught by the policy) counts there. Sites and codes are ours, never a peer's
 * string, so the series stay few.
 */
export function countContainedErrors(registry: Registry): void {
  const counter = new Counter({
    name: 'sci_contained_errors_total',
    help: 'Failures contained to the message or request that caused them, by where they were caught and error code',
    labelNames: ['site', 'code'] as const,
    registers: [registry],
  });
  state.counters.add(counter);
}

/** Logs and counts a failure that ended one message or request (not the process). `context` names it: request, task, subject. */
export function noteContained(site: string, err: unknown, context: Record<string, unknown> = {}, logger: Logger | null = state.logger): void {
  const code = errorCode(err);
  for (const counter of state.counters) counter.inc({ site, code });
  (logger ?? state.logger)?.error({ err, site, code, ...context }, `${site}: contained a failure`);
}

/** Ends the process with a fatal error, logged with its code first. */
export function exitFatal(err: ProcessFatalError): never {
  state.logger?.fatal({ err, code: err.code }, err.message);
  if (!state.logger) process.stderr.write(`sci: ${err.code}: ${err.message}\n`);
  process.exit(FATAL_EXIT_CODE);
}

/**
 * Installs the policy once per process (later calls only replace the logger): escaped rejections and
 * exceptions are logged and counted and the process goes on, unless the error is a ProcessFatalError.
 */
export function installCrashPolicy(logger: Logger): void {
  state.logger = logger;
  if (state.installed) return;
  state.installed = true;
  const escaped = (site: 'unhandled-rejection' | 'uncaught-exception') => (err: unknown) => {
    if (err instanceof ProcessFatalError) exitFatal(err);
    noteContained(site, err);
  };
  process.on('unhandledRejection', escaped('unhandled-rejection'));
  process.on('uncaughtException', escaped('uncaught-exception'));
}
