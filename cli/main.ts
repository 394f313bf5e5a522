import { Command, CommanderError } from 'commander';
import { createRootLogger, installCrashPolicy, SciClusterError } from '../common/index.js';
import { ConfigError } from '../config/index.js';
import { StrictModeError } from '../shards/index.js';
import { ingestCommand } from './ingest.js';
import { configCommand } from './config-print.js';
import { shardsCommand } from './shards.js';
import { indexCommand } from './index-cmd.js';
import { bm25Command } from './bm25-cmd.js';
import { clusterCommand } from './cluster-cmd.js';
import { jobCommand } from './job-cmd.js';
import { coordinatorCommand, workerCommand } from './processes-cmd.js';
import { modelCommand } from './model-cmd.js';
import { trainCommand } from './train-cmd.js';
import { serveCommand } from './serve-cmd.js';
import { evalCommand } from './eval-cmd.js';
import { demoCommand } from './demo-cmd.js';
import { searchCommand } from './search-cmd.js';
import { negativesCommand } from './negatives-cmd.js';
import { pipelineCommand } from './pipeline-cmd.js';
import { experimentCommand } from './experiment-cmd.js';
import { resultsCommand } from './results-cmd.js';
import { generateCommand } from './generate-cmd.js';
import { storageCommand } from './storage-cmd.js';
import type { GlobalOptions } from './context.js';

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, rejected: 3 } as const;

export function buildProgram(): Command {
  const program = new Command('sci')
    .description('sci-cluster: sharded encode, index, search and evaluation for dense retrieval')
    .option('--config <file>', 'YAML config file (also SCI_CONFIG)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  program.addCommand(ingestCommand(globals));
  program.addCommand(configCommand(globals));
  program.addCommand(shardsCommand());
  program.addCommand(generateCommand());
  program.addCommand(indexCommand(globals));
  program.addCommand(bm25Command(globals));
  program.addCommand(clusterCommand(globals));
  program.addCommand(jobCommand(globals));
  program.addCommand(coordinatorCommand(globals));
  program.addCommand(workerCommand(globals));
  program.addCommand(trainCommand(globals));
  program.addCommand(modelCommand());
  program.addCommand(serveCommand(globals));
  program.addCommand(negativesCommand(globals));
  program.addCommand(pipelineCommand(globals));
  program.addCommand(experimentCommand(globals));
  program.addCommand(resultsCommand());
  program.addCommand(evalCommand(globals));
  program.addCommand(searchCommand(globals));
  program.addCommand(storageCommand(globals));
  program.addCommand(demoCommand());
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // Before anything runs; the command's own root logger replaces this one once its config is read.
  installCrashPolicy(createRootLogger({ pretty: false }));
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command that ended with a status of its own (`job submit --wait` on a failed job) keeps it.
    return typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with exit code 0; parse errors were already printed.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof StrictModeError) {
      process.stderr.write(`sci: ${err.message}\n`);
      return EXIT.rejected;
    }
    if (err instanceof ConfigError || (err instanceof SciClusterError && err.code === 'USAGE')) {
      process.stderr.write(`sci: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof SciClusterError) {
      const where = [err.file, err.line].filter((v) => v !== null).join(':');
      process.stderr.write(`sci: ${err.code}: ${err.message}${where ? ` (${where})` : ''}\n`);
      return EXIT.failed;
    }
    process.stderr.write(`sci: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}
