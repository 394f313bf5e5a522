import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../common/index.js';
import { codeLabel } from '../results/index.js';
import { readCiTestRecord, readGridRecord, renderGridMarkdown, type CiTestRecord } from '../experiment/index.js';
import { renderCiTestMarkdown } from '../report/index.js';
import {
  finalStage,
  pipelineHeadline,
  readPipelineRecord,
  renderLeverTable,
  renderPipelineMarkdown,
  renderRecordComparison,
  renderSeedCheck,
} from '../pipeline/index.js';
import { loadPipelineConfig } from './pipeline-cmd.js';

/*
 * `sci results readme [--check]`: the README's research tables rendered from
 * the result records under docs/results/ (each between its
 * `<!-- name:start -->` and `<!-- name:end -->` markers). --check says which
 * block differs from its record instead of writing; the suite runs the same
 * comparison. `sci results headline`: the pipeline's result in one line.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface ReadmeBlock {
  name: string;
  /** The records it is rendered from, relative to the repository. */
  sources: string[];
  markdown: string;
}

/** Every README block that comes from a result record, rendered from the committed records. */
export function recordBlocks(repo: string = REPO): ReadmeBlock[] {
  const results = (file: string) => join(repo, 'docs', 'results', file);
  const wordnet = readPipelineRecord(results('pipeline-wordnet.json'));
  const seeds45 = readPipelineRecord(results('pipeline-wordnet-seeds-4-5.json'));
  const stems = readPipelineRecord(results('tokenizer-ab-stems.json'));
  const words = readPipelineRecord(results('tokenizer-ab-words.json'));
  const config = loadPipelineConfig(join(repo, 'config', 'pipelines', 'wordnet.yaml'));
  const levers = LEVER_RECORDS.map((lever) => ({ ...lever, record: readPipelineRecord(results(lever.file)) }));
  const sciGrid = readGridRecord(results('experiment-sci.json'));
  const sciCiTest = readCiTestRecord(results('experiment-sci-ci-test.json'));
  const thesisGrid = readGridRecord(results('experiment-thesis.json'));
  return [
    { name: 'pipeline-record:wordnet', sources: ['docs/results/pipeline-wordnet.json'], markdown: renderPipelineMarkdown(wordnet) },
    {
      name: 'pipeline-record:seed-check',
      sources: ['docs/results/pipeline-wordnet.json', 'docs/results/pipeline-wordnet-seeds-4-5.json'],
      markdown: renderSeedCheck(wordnet, seeds45, finalStage(config)),
    },
    {
      name: 'pipeline-record:tokenizer-ab',
      sources: ['docs/results/tokenizer-ab-stems.json', 'docs/results/tokenizer-ab-words.json'],
      markdown: renderRecordComparison(
        [
          { label: 'stems', record: stems },
          { label: 'words', record: words },
        ],
        ['Recall@10', 'MRR@10', 'Recall@100'],
        ['dev', 'test'],
      ),
    },
    {
      name: 'pipeline-record:levers',
      sources: ['docs/results/pipeline-wordnet.json', ...LEVER_RECORDS.map((lever) => `docs/results/${lever.file}`)],
      markdown: renderLeverTable(
        [
          { label: 'shipped: words, 256-d, batch 128, temperature 0.05', record: wordnet, seed: 1 },
          ...levers.map(({ label, record }) => ({ label, record, seed: 1 })),
        ],
        [
          { stage: 'stage1', metric: 'Recall@100' },
          { stage: 'stage3.r2', metric: 'Recall@10' },
          { stage: 'stage3.r2', metric: 'MRR@10' },
          { stage: 'stage3.r2', metric: 'Recall@100' },
          { stage: 'hybrid', metric: 'Recall@100' },
        ],
        'dev',
      ),
    },
    { name: 'experiment-record:sci', sources: ['docs/results/experiment-sci.json'], markdown: renderGridMarkdown(sciGrid, { nprobes: [1, 8, 64] }) },
    { name: 'experiment-record:sci-ci-test', sources: ['docs/results/experiment-sci-ci-test.json'], markdown: ciTestBlock(sciCiTest) },
    {
      name: 'experiment-record:thesis',
      sources: ['docs/results/experiment-thesis.json'],
      markdown: renderGridMarkdown(thesisGrid, { uniformity: true }),
    },
  ];
}

/** Seed-1 runs of the pipeline with one lever moved from the shipped config (README, "Dense against BM25 at Recall@100"). */
const LEVER_RECORDS = [
  { label: 'Porter stems', file: 'tokenizer-ab-stems.json' },
  { label: 'temperature 0.1', file: 'levers-temperature-0.1.json' },
  { label: 'batch 256', file: 'levers-batch-256.json' },
  { label: '384-d', file: 'levers-384d.json' },
  { label: 'Porter stems, 384-d', file: 'levers-stems-384d.json' },
];

/** The CI test's README block: which code trained the checkpoints and which ran the analysis, then its table. */
function ciTestBlock(record: CiTestRecord): string {
  return [
    `CI test \`${record.name}\`: checkpoints trained at ${codeLabel(record.body.code.training)}, analysis at ${codeLabel([record.body.code.analysis])}, seeds ${record.seeds.join(', ')}, made by \`${record.command}\`.`,
    '',
    renderCiTestMarkdown(record.body),
  ].join('\n');
}

/** The headline of the committed WordNet pipeline record (`sci results headline`, the demo's last line). */
export function wordnetHeadline(repo: string = REPO): string {
  const config = loadPipelineConfig(join(repo, 'config', 'pipelines', 'wordnet.yaml'));
  return pipelineHeadline(readPipelineRecord(join(repo, 'docs', 'results', 'pipeline-wordnet.json')), finalStage(config), 'docs/results/pipeline-wordnet.json');
}

const pattern = (name: string) => new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`);

/** The text between a block's markers, or null where the README has no such block. */
export function readmeBlock(readme: string, name: string): string | null {
  const found = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme);
  return found ? found[1]! : null;
}

export function resultsCommand(): Command {
  const results = new Command('results').description('Result records (docs/results/): the data behind the README’s research tables');
  results
    .command('readme')
    .description('Rewrite the README blocks rendered from result records (--check: only say which differ, exit 1 if any)')
    .option('--check', 'compare, write nothing')
    .option('--readme <file>', 'the README to update', join(REPO, 'README.md'))
    .action((flags: { check?: boolean; readme: string }) => {
      let readme = readFileSync(flags.readme, 'utf8');
      const stale: string[] = [];
      for (const block of recordBlocks()) {
        const current = readmeBlock(readme, block.name);
        if (current === null)
          throw new UsageError(`${flags.readme} has no <!-- ${block.name}:start --> … <!-- ${block.name}:end --> block`, { file: flags.readme });
        if (current === block.markdown) continue;
        stale.push(`${block.name} (from ${block.sources.join(', ')})`);
        readme = readme.replace(pattern(block.name), (_all, start: string, end: string) => `${start}${block.markdown}${end}`);
      }
      if (flags.check) {
        process.stdout.write(stale.length === 0 ? 'every record block is current\n' : `differs from its record: ${stale.join('; ')}\n`);
        if (stale.length > 0) process.exitCode = 1;
        return;
      }
      writeFileSync(flags.readme, readme);
      process.stdout.write(stale.length === 0 ? 'every record block was current\n' : `rewrote: ${stale.join('; ')}\n`);
    });
  results
    .command('headline')
    .description("One line with the WordNet pipeline's measured result and the command that gives it, from its record (the demo prints it last)")
    .action(() => {
      process.stdout.write(`${wordnetHeadline()}\n`);
    });
  return results;
}
