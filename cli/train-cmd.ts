import { Command, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import { parseContract, UsageError } from '../common/index.js';
import { applySetAssignments, readYamlFile, setPath } from '../config/index.js';
import { TrainConfigSchema, train, type TrainConfig, type TrainResult } from '../encoder/index.js';
import { openMinedNegativesFor } from '../mine/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { positiveInt } from './parse.js';
import { progressReporter } from './progress.js';
import { interruptOnSignals } from './interrupt.js';

/*
 * `sci train`: train a dual-tower encoder on a shard set's queries and
 * judgments. Settings come from a YAML file (--train-config), then the
 * flags below, then any number of `--set path=value` (JSON values).
 */

const number = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} expects a number, got ${JSON.stringify(value)}`);
  return n;
};

const collect = (value: string, previous: string[]) => [...previous, value];

interface TrainFlags {
  shards?: string;
  out: string;
  trainConfig?: string;
  model?: string;
  towers?: string;
  dim?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  temperature?: number;
  distanceWeight?: number;
  symm?: string;
  symmLambda?: number;
  loss?: string;
  negatives?: number;
  negativesFrom: string[];
  evalEvery?: number;
  poolSize?: number;
  evalQueries?: number;
  testSplit?: string;
  seed?: number;
  backend?: string;
  vocab?: string;
  initFrom?: string;
  set: string[];
  resume?: boolean;
  baseline?: boolean;
  json?: boolean;
}

/** `DIR` or `DIR:WEIGHT`. */
function parseNegativesFrom(value: string): { path: string; weight: number } {
  const m = /^(.*):([0-9]*\.?[0-9]+)$/.exec(value);
  const path = resolve(m ? m[1]! : value);
  const weight = m ? Number(m[2]) : 1;
  if (!(weight > 0)) throw new UsageError(`--negatives-from ${value}: the weight must be positive`, { field: '--negatives-from' });
  return { path, weight };
}

export function trainConfigFrom(flags: TrainFlags): TrainConfig {
  const raw = flags.trainConfig ? readYamlFile(flags.trainConfig, 'training config') : {};
  const direct: Array<[string, unknown]> = [
    ['data.shards', flags.shards],
    ['model.kind', flags.model],
    ['model.towers', flags.towers],
    ['model.dim', flags.dim],
    ['steps', flags.steps],
    ['batchSize', flags.batchSize],
    ['optimizer.lr', flags.lr],
    ['objective.temperature', flags.temperature],
    ['objective.distanceWeight', flags.distanceWeight],
    ['objective.base', flags.loss],
    ['data.negativesPerQuery', flags.negatives],
    ['eval.every', flags.evalEvery],
    ['eval.poolSize', flags.poolSize],
    ['eval.queries', flags.evalQueries],
    ['eval.testSplit', flags.testSplit],
    ['seed', flags.seed],
    ['backend', flags.backend],
    ['tokenizer.vocab', flags.vocab],
    ['initFrom', flags.initFrom],
  ];
  for (const [path, value] of direct) if (value !== undefined) setPath(raw, path.split('.'), value);
  if (flags.negativesFrom.length > 0) {
    setPath(raw, ['data', 'negativesFrom'], flags.negativesFrom.map(parseNegativesFrom));
    if (flags.negatives === undefined && !((raw.data as { negativesPerQuery?: number } | undefined)?.negativesPerQuery ?? 0))
      setPath(raw, ['data', 'negativesPerQuery'], 1);
  }
  if (flags.symm === 'off') setPath(raw, ['objective', 'symmAligner'], null);
  else if (flags.symm !== undefined) setPath(raw, ['objective', 'symmAligner'], { variant: flags.symm, lambda: flags.symmLambda ?? 1 });
  else if (flags.symmLambda !== undefined) throw new UsageError('--symm-lambda needs --symm A|B|C');
  applySetAssignments(raw, flags.set);
  // Model flags without --model refine the default architecture.
  if (typeof raw.model === 'object' && raw.model !== null && !('kind' in raw.model)) (raw.model as Record<string, unknown>).kind = 'fast';
  return parseContract(TrainConfigSchema, raw, {
    what: 'training config',
    emptyField: '(root)',
    error: UsageError,
    ...(flags.trainConfig ? { file: flags.trainConfig } : {}),
  });
}

const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));

function summary(result: TrainResult): string {
  const rows: Array<[string, Record<string, number> | null]> = [
    ['hashed TF-IDF baseline', result.baseline],
    ['untrained (step 0)', result.untrained],
    [`trained, best (step ${result.bestStep})`, result.best],
    [`trained, last (step ${result.steps})`, result.final],
  ];
  const columns = ['Recall@10', 'Recall@100', 'MRR@10', 'nDCG@10', 'positiveCosine', 'uniformityItems', 'crossTowerGap'];
  const lines = [
    `dev pool: ${result.devQueries} queries over ${result.poolSize} passages; ${result.trainPairs} training pairs; backend ${result.backend.name} (${result.backend.threads} thread(s)); ${result.stepsPerSecond.toFixed(2)} steps/s`,
  ];
  lines.push(['model'.padEnd(28), ...columns.map((c) => c.padStart(15))].join(''));
  for (const [name, m] of rows) if (m) lines.push([name.padEnd(28), ...columns.map((c) => fmt(m[c]).padStart(15))].join(''));
  if (result.test) {
    lines.push(`held-out split "${result.test.split}" (best checkpoint, same pool construction):`);
    if (result.test.baseline) lines.push(['hashed TF-IDF baseline'.padEnd(28), ...columns.map((c) => fmt(result.test!.baseline![c]).padStart(15))].join(''));
    lines.push([`trained (step ${result.bestStep})`.padEnd(28), ...columns.map((c) => fmt(result.test!.best[c]).padStart(15))].join(''));
  }
  lines.push(`best checkpoint: ${result.bestCheckpoint} (ONNX export: ${result.onnxExport})`);
  return `${lines.join('\n')}\n`;
}

export function trainCommand(globals: () => GlobalOptions): Command {
  return new Command('train')
    .description("Train a dual-tower encoder (InfoNCE / triplet + w·(1−cos) + SCI SymmAligner) on a shard set's queries and judgments")
    .option('--shards <dir>', 'passage shard set with queries and qrels (from sci ingest)')
    .requiredOption('--out <dir>', 'output folder: best/ and last/ checkpoints, train-log.jsonl, result.json')
    .option('--train-config <file>', 'YAML training config (flags override it)')
    .addOption(new Option('--model <kind>', 'architecture').choices(['fast', 'transformer']))
    .addOption(new Option('--towers <kind>', 'shared or separate towers').choices(['shared', 'separate']))
    .option('--dim <d>', 'output dimension', positiveInt('--dim'))
    .option('--steps <n>', 'optimizer steps', positiveInt('--steps'))
    .option('--batch-size <n>', 'pairs per batch', positiveInt('--batch-size'))
    .option('--lr <lr>', 'peak learning rate', number('--lr'))
    .option('--temperature <tau>', 'InfoNCE temperature', number('--temperature'))
    .option('--distance-weight <w>', 'w of w·(1 − cos(q, d+))', number('--distance-weight'))
    .addOption(new Option('--loss <base>', 'base loss').choices(['infonce', 'triplet']))
    .addOption(new Option('--symm <variant>', 'SCI SymmAligner variant, or off').choices(['A', 'B', 'C', 'off']))
    .option('--symm-lambda <lambda>', 'SymmAligner weight', number('--symm-lambda'))
    .option('--negatives <n>', 'hard negatives per query (1 when --negatives-from is given)', (v) => Number(v))
    .option('--negatives-from <dir[:weight]>', 'mined negatives: a mine job output folder, with an optional mixing weight (repeatable)', collect, [])
    .option('--eval-every <n>', 'evaluate and checkpoint every n steps', positiveInt('--eval-every'))
    .option('--pool-size <n>', 'dev pool passages (0 = whole corpus)', (v) => Number(v))
    .option('--eval-queries <n>', 'dev queries evaluated (0 = all)', (v) => Number(v))
    .option('--test-split <name>', 'measure the best checkpoint once on this held-out split at the end (e.g. test)')
    .option('--seed <n>', 'seed of weights, batches and negatives', (v) => Number(v))
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']))
    .option('--vocab <file>', 'BERT vocab.txt (default: learn a WordPiece vocabulary)')
    .option('--init-from <dir>', 'start from this checkpoint, or from its ONNX export (sci model export; the architecture comes with it)')
    .option('--set <path=value>', 'any config value, e.g. --set objective.symmAligner.variant=\\"C\\" (repeatable)', collect, [])
    .option('--resume', 'continue from <out>/last if it exists')
    .option('--baseline', 'also evaluate the hashed TF-IDF baseline encoder on the same dev pool')
    .option('--json', 'print the result (final dev metrics, checkpoint paths) as JSON')
    .action(async (flags: TrainFlags) => {
      const { logger } = commandContext(globals());
      const log = logger.child({ component: 'train' });
      const config = trainConfigFrom(flags);
      const progress = progressReporter('train', log, { unit: 'steps' });
      const interrupt = interruptOnSignals(log, 'stopping after this step with a checkpoint (resume with --resume)');
      try {
        const result = await train({
          openNegativesFrom: (data) => openMinedNegativesFor(data, config.data.negativesFrom),
          config,
          outDir: flags.out,
          logger: log,
          resume: flags.resume === true,
          baseline: flags.baseline === true,
          signal: interrupt.signal,
          onStep: (step, total, fields) => progress.update(step, total, fields),
        });
        progress.stop();
        process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : summary(result));
      } finally {
        progress.stop();
        interrupt.release();
      }
    });
}
