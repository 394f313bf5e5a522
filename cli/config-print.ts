import { Command } from 'commander';
import { stringify } from 'yaml';
import { commandContext, type GlobalOptions } from './context.js';

export function configCommand(globals: () => GlobalOptions): Command {
  const config = new Command('config').description('Inspect the configuration');
  config
    .command('print')
    .description('Print the resolved configuration (defaults < --config file < SCI_* environment)')
    .option('--json', 'print JSON instead of YAML')
    .action((flags: { json?: boolean }) => {
      const { config: resolved } = commandContext(globals());
      process.stdout.write(flags.json ? `${JSON.stringify(resolved, null, 2)}\n` : stringify(resolved));
    });
  return config;
}
