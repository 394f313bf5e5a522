import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { UsageError } from '../common/index.js';
import type { Config } from '../config/index.js';
import { downloadPrefix, findDeadProcessFolders, findLeftovers, FsStorage, keyUnder, removeLeftovers, uploadPath, type Storage } from '../storage/index.js';
import { FINISHED_JOB_INTERMEDIATES } from '../shards/index.js';
import { openServing } from './cluster-context.js';
import { commandContext, type GlobalOptions } from './context.js';

/** The configured storage for one command: the fs root as it is, or the object store through NATS (closed after). */
async function withStorage<T>(config: Config, logger: Logger, body: (storage: Storage) => Promise<T>): Promise<T> {
  if (config.storage.kind === 'fs') return body(new FsStorage(config.storage.root));
  const handles = await openServing(config, `sci-storage-${process.pid}`, 'cli', undefined, logger);
  try {
    return await body(handles.storage);
  } finally {
    await handles.close();
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** `sci storage ls|put|get|rm|gc`: moving sets in and out of the configured storage, and its housekeeping. */
export function storageCommand(globals: () => GlobalOptions): Command {
  const storage = new Command('storage').description(
    'Move files and sets in and out of the configured storage (storage.kind fs or nats-object-store); housekeeping',
  );
  storage
    .command('ls')
    .description('List stored files under a key prefix (all when none)')
    .argument('[prefix]', 'key prefix, e.g. wordnet/passages', '')
    .option('--json', 'print JSON')
    .action(async (prefix: string, flags: { json?: boolean }) => {
      const { config, logger } = commandContext(globals());
      const files = await withStorage(config, logger, (s) => s.list(prefix));
      const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
      if (flags.json)
        process.stdout.write(`${JSON.stringify({ kind: config.storage.kind, prefix, files, bytes })}
`);
      else {
        for (const f of files) process.stdout.write(`${String(f.bytes).padStart(12)}  ${f.modified}  ${f.key}\n`);
        process.stdout.write(`${files.length} file(s), ${mib(bytes)} in ${config.storage.kind}${prefix ? ` under ${prefix}` : ''}\n`);
      }
    });
  storage
    .command('put')
    .description('Store a local file under KEY, or a local folder (recursively) under KEY/…; the local copy stays')
    .argument('<local>', 'file or folder to store')
    .argument('<key>', 'key (file) or key prefix (folder)')
    .action(async (local: string, key: string) => {
      const { config, logger } = commandContext(globals());
      if (!existsSync(local)) throw new UsageError(`no file or folder ${local}`, { file: local });
      const keys = await withStorage(config, logger, (s) => uploadPath(s, resolve(local), s.checkKey(key)));
      process.stdout.write(`stored ${keys.length} file(s) under ${key} in ${config.storage.kind}\n`);
    });
  storage
    .command('get')
    .description('Copy the stored file KEY, or every file under the prefix KEY, into a local folder (object-store downloads are checked against their digests)')
    .argument('<key>', 'key or key prefix')
    .argument('<dir>', 'local folder to write into')
    .action(async (key: string, dir: string) => {
      const { config, logger } = commandContext(globals());
      const written = await withStorage(config, logger, (s) => downloadPrefix(s, key, resolve(dir)));
      process.stdout.write(`copied ${written.length} file(s) from ${key} into ${resolve(dir)}\n`);
    });
  storage
    .command('rm')
    .description('Remove the stored file KEY; with --recursive, every file under the prefix KEY')
    .argument('<key>', 'key or key prefix')
    .option('-r, --recursive', 'remove every file under the prefix')
    .action(async (key: string, flags: { recursive?: boolean }) => {
      const { config, logger } = commandContext(globals());
      const removed = await withStorage(config, logger, async (s) => {
        const prefix = s.checkKey(key).replace(/\/+$/, '');
        const keys = (await s.list(prefix)).map((f) => f.key).filter((k) => keyUnder(k, prefix));
        if (keys.length === 0) throw new UsageError(`nothing stored under ${prefix}`, { field: 'key' });
        if (!flags.recursive && (keys.length > 1 || keys[0] !== prefix))
          throw new UsageError(`${prefix} is a prefix of ${keys.length} file(s): give --recursive to remove them all`, { field: 'key' });
        let count = 0;
        for (const k of keys) if (await s.remove(k)) count += 1;
        return count;
      });
      process.stdout.write(`removed ${removed} file(s) under ${key} from ${config.storage.kind}\n`);
    });
  storage
    .command('gc')
    .description(
      "Remove files written aside and never renamed into place (*.tmp-*, *.old-*), work folders (.work-*) of tasks that died, the intermediate folders of finished jobs (mine candidates, stats, query vectors and merge parts; shared-quantizer samples), and this machine's temp folders of sci processes that were killed (sci-<role>-<pid>-*)",
    )
    .option('--older-than-hours <h>', 'only leftovers not touched for this long (a running task writes its own as it goes)', (v) => Number(v), 24)
    .option('--dry-run', 'list what would go, remove nothing')
    .option('--keep-intermediates', "keep finished jobs' intermediate folders (only temp files and dead work folders go)")
    .option('--json', 'print JSON')
    .action((flags: { olderThanHours: number; dryRun?: boolean; json?: boolean; keepIntermediates?: boolean }) => {
      const { config } = commandContext(globals());
      if (!(flags.olderThanHours >= 0))
        throw new UsageError(`--older-than-hours expects hours ≥ 0, got ${flags.olderThanHours}`, { field: '--older-than-hours' });
      const olderThanMs = flags.olderThanHours * 3600_000;
      // The object store keeps no temp files (a put is one message); its clients' temp folders are still swept.
      const root = config.storage.kind === 'fs' ? resolve(config.storage.root) : null;
      const leftovers = [
        ...(root ? findLeftovers(root, { olderThanMs, intermediates: flags.keepIntermediates ? [] : FINISHED_JOB_INTERMEDIATES }) : []),
        ...findDeadProcessFolders({ olderThanMs }),
      ];
      const bytes = flags.dryRun ? leftovers.reduce((sum, l) => sum + l.bytes, 0) : removeLeftovers(leftovers);
      const where = [...new Set([root, tmpdir()].filter((dir) => dir !== null))].join(' and ');
      if (flags.json) process.stdout.write(`${JSON.stringify({ root, tempDir: tmpdir(), removed: !flags.dryRun, bytes, leftovers })}\n`);
      else {
        for (const l of leftovers) process.stdout.write(`${flags.dryRun ? 'would remove' : 'removed'} ${l.kind} ${l.path} (${l.bytes} bytes)\n`);
        process.stdout.write(`${leftovers.length} leftovers, ${(bytes / 2 ** 20).toFixed(1)} MiB ${flags.dryRun ? 'to free' : 'freed'} under ${where}\n`);
      }
    });
  return storage;
}
