import { loadConfig, type Config } from '../config/index.js';
import { createRootLogger, installCrashPolicy, type Logger } from '../common/index.js';

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

export interface CommandContext {
  config: Config;
  logger: Logger;
}

/** The only place that reads process.env: resolves config and the root logger. */
export function commandContext(globals: GlobalOptions, overrides: Record<string, unknown> = {}): CommandContext {
  const config = loadConfig({
    file: globals.config ?? process.env.SCI_CONFIG ?? null,
    env: process.env,
    overrides: { ...(globals.logLevel ? { 'log.level': globals.logLevel } : {}), ...overrides },
  });
  const logger = createRootLogger({ level: config.log.level, ...(config.log.pretty === null ? {} : { pretty: config.log.pretty }) });
  installCrashPolicy(logger);
  return { config, logger };
}
