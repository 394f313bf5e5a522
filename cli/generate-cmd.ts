import { Command } from 'commander';
import { resolve } from 'node:path';
import { STDIN_INPUT, streamSyntheticCorpus, writeSyntheticCorpus } from '../shards/index.js';
import { positiveInt } from './parse.js';

/** `sci generate passages`: a seeded psgs_w100-shaped TSV for scale runs without network (shards/synthetic-corpus.ts). */
export function generateCommand(): Command {
  const generate = new Command('generate').description('Generate test corpora offline');
  generate
    .command('passages')
    .description('A DPR psgs_w100-shaped TSV (id, text, title): 100-word passages of WordNet words at Zipf frequencies, articles of ~6.6 passages')
    .requiredOption('--rows <n>', 'passages to write', positiveInt('--rows'))
    .requiredOption('--out <file>', 'TSV file to write, or - for standard output (pipe it into sci ingest --format tsv --input -: no copy on disk)')
    .option('--seed <n>', 'seed (the same seed and rows give the same file)', positiveInt('--seed'), 1)
    .action((flags: { rows: number; out: string; seed: number }) => {
      const started = performance.now();
      const toStdout = flags.out === STDIN_INPUT;
      // Standard output carries the corpus, so the summary goes to standard error.
      const bytes = toStdout
        ? streamSyntheticCorpus(1, { rows: flags.rows, seed: flags.seed })
        : writeSyntheticCorpus(resolve(flags.out), { rows: flags.rows, seed: flags.seed });
      (toStdout ? process.stderr : process.stdout).write(
        `${flags.rows} passages, ${(bytes / 2 ** 20).toFixed(1)} MiB, in ${((performance.now() - started) / 1000).toFixed(1)} s: ${toStdout ? 'standard output' : resolve(flags.out)}\n`,
      );
    });
  return generate;
}
