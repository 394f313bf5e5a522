import { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../common/index.js';
import { findLeftovers, removeLeftovers } from '../storage/index.js';
import { commandContext, type GlobalOptions } from './context.js';

/** `sci storage gc`: what interrupted writes left in the storage root (fs storage). */
export function storageCommand(globals: () => GlobalOptions): Command {
  const storage = new Command('storage').description('Housekeeping of the storage root');
  storage
    .command('gc')
    .description('Remove files written aside and never renamed into place (*.tmp-*, *.old-*) and work folders (.work-*) of tasks that died')
    .option('--older-than-hours <h>', 'only leftovers not touched for this long (a running task writes its own as it goes)', (v) => Number(v), 24)
    .option('--dry-run', 'list what would go, remove nothing')
    .option('--json', 'print JSON')
    .action((flags: { olderThanHours: number; dryRun?: boolean; json?: boolean }) => {
      const { config } = commandContext(globals());
      if (!(flags.olderThanHours >= 0))
        throw new UsageError(`--older-than-hours expects hours ≥ 0, got ${flags.olderThanHours}`, { field: '--older-than-hours' });
      if (config.storage.kind !== 'fs') throw new UsageError('sci storage gc sweeps fs storage (storage.kind fs); the object store keeps no temp files');
      const root = resolve(config.storage.root);
      const leftovers = findLeftovers(root, { olderThanMs: flags.olderThanHours * 3600_000 });
      const bytes = flags.dryRun ? leftovers.reduce((sum, l) => sum + l.bytes, 0) : removeLeftovers(leftovers);
      if (flags.json) process.stdout.write(`${JSON.stringify({ root, removed: !flags.dryRun, bytes, leftovers })}\n`);
      else {
        for (const l of leftovers) process.stdout.write(`${flags.dryRun ? 'would remove' : 'removed'} ${l.kind} ${l.path} (${l.bytes} bytes)\n`);
        process.stdout.write(`${leftovers.length} leftovers, ${(bytes / 2 ** 20).toFixed(1)} MiB ${flags.dryRun ? 'to free' : 'freed'} under ${root}\n`);
      }
    });
  return storage;
}
