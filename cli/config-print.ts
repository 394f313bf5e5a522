import { Command } from 'commander';
import { stringify } from 'yaml';
import type { Config } from '../config/index.js';
import { commandContext, type GlobalOptions } from './context.js';

const MASK = '********';

/** The config as printed: secrets shown only as set or not. Files holding secrets are paths, so they stay. */
export function maskSecrets(config: Config): Config {
  return {
    ...config,
    nats: { ...config.nats, password: config.nats.password === null ? null : MASK },
    api: { ...config.api, token: config.api.token === null ? null : MASK },
  };
}

export function configCommand(globals: () => GlobalOptions): Command {
  const config = new Command('config').description('Inspect the configuration');
  config
    .command('print')
    .description('Print the resolved configuration (defaults < --config file < SCI_* environment)')
    .option('--json', 'print JSON instead of YAML')
    .action((flags: { json?: boolean }) => {
      const { config } = commandContext(globals());
      const resolved = maskSecrets(config);
      process.stdout.write(flags.json ? `${JSON.stringify(resolved, null, 2)}\n` : stringify(resolved));
    });
  return config;
}
