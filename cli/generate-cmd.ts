import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../common/index.js';
import { STDIN_INPUT, streamSyntheticCorpus, SYNTHETIC_KINDS, writeSyntheticCorpus, writeSyntheticQueries, type SyntheticKind } from '../shards/index.js';
import { positiveInt } from './parse.js';

/** `train=20000,dev=1000` → { train: 20000, dev: 1000 }. */
function parseSplits(value: string): Record<string, number> {
  const splits: Record<string, number> = {};
  for (const part of value.split(',')) {
    const m = /^([A-Za-z0-9._-]+)=(\d+)$/.exec(part.trim());
    if (!m || Number(m[2]) < 1) throw new UsageError(`--splits: expected name=count[,name=count...] with counts ≥ 1, got ${JSON.stringify(part)}`);
    splits[m[1]!] = Number(m[2]);
  }
  return splits;
}

/** `sci generate passages|queries`: a seeded psgs_w100-shaped corpus and its queries, for scale runs without network (shards/synthetic-corpus.ts). */
export function generateCommand(): Command {
  const generate = new Command('generate').description('Generate test corpora offline');
  generate
    .command('passages')
    .description(
      'A DPR psgs_w100-shaped TSV (id, text, title): 100-word passages in articles of ~6.6; synsets (default): articles around WordNet synsets and their neighbourhoods; zipf: WordNet words at Zipf frequencies, no structure',
    )
    .requiredOption('--rows <n>', 'passages to write', positiveInt('--rows'))
    .requiredOption('--out <file>', 'TSV file to write, or - for standard output (pipe it into sci ingest --format tsv --input -: no copy on disk)')
    .addOption(new Option('--kind <kind>', 'corpus kind').choices(SYNTHETIC_KINDS).default('synsets'))
    .option('--seed <n>', 'seed (the same kind, seed and rows give the same file)', positiveInt('--seed'), 1)
    .action((flags: { rows: number; out: string; seed: number; kind: SyntheticKind }) => {
      const started = performance.now();
      const toStdout = flags.out === STDIN_INPUT;
      const options = { rows: flags.rows, seed: flags.seed, kind: flags.kind };
      // Standard output carries the corpus, so the summary goes to standard error.
      const bytes = toStdout ? streamSyntheticCorpus(1, options) : writeSyntheticCorpus(resolve(flags.out), options);
      (toStdout ? process.stderr : process.stdout).write(
        `${flags.rows} ${flags.kind} passages, ${(bytes / 2 ** 20).toFixed(1)} MiB, in ${((performance.now() - started) / 1000).toFixed(1)} s: ${toStdout ? 'standard output' : resolve(flags.out)}\n`,
      );
    });
  generate
    .command('queries')
    .description(
      'Queries with known answers for an ingested generated corpus: each a run of words cut from one passage, paraphrased through WordNet synonyms, judged relevant to that passage, training queries with the article neighbours of their source as hard negatives; written into the set (queries.jsonl, qrels/<split>.tsv, negatives/train.tsv, manifest)',
    )
    .requiredOption('--passages <dir>', 'passage set from sci ingest (it must have no queries yet)')
    .option('--splits <list>', 'queries per split', parseSplits, { train: 20_000, dev: 1_000, test: 1_000 })
    .option('--words <n>', 'words cut from the passage', positiveInt('--words'), 12)
    .option(
      '--replace <p>',
      'chance a word with synonyms is swapped for one',
      (v) => {
        const p = Number(v);
        if (!(p >= 0 && p <= 1)) throw new UsageError(`--replace: a probability in [0, 1], got ${v}`);
        return p;
      },
      0.5,
    )
    .option('--seed <n>', 'seed', positiveInt('--seed'), 1)
    .action(async (flags: { passages: string; splits: Record<string, number>; words: number; replace: number; seed: number }) => {
      const result = await writeSyntheticQueries(resolve(flags.passages), flags);
      process.stdout.write(
        `${result.queries} queries (${Object.entries(result.splits)
          .map(([s, n]) => `${s} ${n}`)
          .join(
            ', ',
          )}), ${result.meanReplaced.toFixed(2)} words a query swapped for a synonym, ${result.negatives} hard negatives (article neighbours of training sources): ${resolve(flags.passages)}\n`,
      );
    });
  return generate;
}
