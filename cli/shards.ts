import { Command } from 'commander';
import { verifyShardSet } from '../shards/index.js';

export function shardsCommand(): Command {
  const shards = new Command('shards').description('Inspect and check shard sets');
  shards
    .command('verify')
    .description('Check a shard set: manifest accounting, sha256 of every shard, every row id and external id')
    .argument('<dir>', 'shard folder or its manifest.json')
    .option('--json', 'print the report as JSON')
    .action(async (dir: string, flags: { json?: boolean }) => {
      const report = await verifyShardSet(dir);
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else
        process.stdout.write(
          `ok: ${report.shards} shards, ${report.rows} rows (rowsIn ${report.rowsIn} = ${report.rows} written + ${report.rowsRejected} rejected), checksums match\n`,
        );
    });
  return shards;
}
