import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { IndexSpec, JobSpecInput } from '../jobs/index.js';
import type { PipelineConfig } from './config.js';
import { PipelineError } from './errors.js';

/*
 * The pipeline as an ordered list of steps, each a pure function of the
 * config: a cluster job, a training segment, an evaluation, or the ingest.
 * Layout under `out` (seed-independent work is shared by every seed):
 *   bm25/indexes, bm25/negatives      BM25 per shard, and stage 2's negatives
 *   hashed/embeddings, hashed/indexes the hashed TF-IDF baseline
 *   seed-<s>/pipeline.json            the state: what is done, job ids, results
 *   seed-<s>/<stage>/train            a training segment (best/, last/, train-log.jsonl)
 *   seed-<s>/<stage>/embeddings, indexes, negatives, eval-<split>.json
 */

export interface TrainSegment {
  /** Provenance label of the stage (stage1, stage2, stage3.r1, ...). */
  stage: string;
  outDir: string;
  /** Step count the segment trains to (counted from step 0 of stage 1). */
  steps: number;
  /** The previous segment's last/ checkpoint (weights, optimizer state, step); null for stage 1. */
  continueFrom: string | null;
  negativesFrom: Array<{ path: string; weight: number }>;
  negativesPerQuery: number;
}

export interface EvalTarget {
  /** The row this is: a trained stage, or a baseline (bm25, hashed). */
  stage: string;
  indexSet: string;
  index: string;
  split: string;
  /** The checkpoint whose embeddings are searched, and its step (null for baselines). */
  checkpoint: string | null;
  trainedSteps: number | null;
  resultFile: string;
  /** Keep the evaluated ranking (run-<split>.json beside the result): a fused row reads it. */
  saveRun?: boolean;
  /** A fused row: the rankings of these rows (their folders' run-<split>.json), by reciprocal rank with these weights; nothing is searched. */
  fuse?: Array<{ runDir: string; weight: number }>;
}

/** The row that fuses the final stage with BM25 (eval.hybrid). */
export const HYBRID_STAGE = 'hybrid';

/** The file a row's ranking is kept in, for a split. */
export function runFileOf(dir: string, split: string): string {
  return join(dir, `run-${split}.json`);
}

export type PipelineStep =
  | { id: string; kind: 'ingest'; out: string; input: string | null; shards: number }
  /** `shared`: seed-independent work (BM25, the hashed baseline): a finished job for the same spec from any run is reused. */
  | { id: string; kind: 'job'; spec: JobSpecInput; shared?: boolean }
  | { id: string; kind: 'train'; segment: TrainSegment }
  | { id: string; kind: 'eval'; target: EvalTarget }
  /** Research measurements of a stage's checkpoint (pipeline/analysis.ts). */
  | { id: string; kind: 'analyse'; target: AnalysisTarget };

export interface AnalysisTarget {
  stage: string;
  indexSet: string;
  embeddings: string;
  checkpoint: string;
  trainedSteps: number;
  split: string;
  resultFile: string;
}

export interface PipelinePlan {
  seed: number;
  out: string;
  seedDir: string;
  stateFile: string;
  passages: string;
  totalSteps: number;
  steps: PipelineStep[];
}

/** Identifies a step's definition: a finished step whose definition changed is not silently reused. */
export function fingerprintOf(step: PipelineStep): string {
  return createHash('sha256').update(JSON.stringify(step)).digest('hex').slice(0, 16);
}

/** The indexes built on a stage's embeddings: Flat for the exact dev evaluation, the mining index when it is another, and the analysis indexes where the stage is analysed. */
function stageIndexes(config: PipelineConfig, analysed: boolean): IndexSpec[] {
  const specs: IndexSpec[] = [{ name: 'flat', factory: 'Flat', metric: 'ip' }];
  const mining = config.stages.dense?.index;
  if (mining && mining.factory !== 'Flat')
    specs.push({ name: 'mine', factory: mining.factory, metric: 'ip', ...(mining.efSearch ? { efSearch: mining.efSearch } : {}) });
  if (analysed) for (const spec of config.analysis?.indexes ?? []) specs.push({ ...spec });
  return specs;
}

/** The last stage the config trains (its "final" row). */
export function finalStage(config: PipelineConfig): string {
  const { bm25, dense } = config.stages;
  if (dense && dense.rounds > 0) return `stage3.r${dense.rounds}`;
  return bm25 ? 'stage2' : 'stage1';
}

export function planPipeline(config: PipelineConfig, seed: number = config.seed): PipelinePlan {
  const out = resolve(config.out);
  const shared = resolve(config.sharedOut ?? config.out);
  const seedDir = join(out, `seed-${seed}`);
  const passages = resolve(config.corpus.passages);
  const { inBatch, bm25, dense } = config.stages;
  const rounds = dense?.rounds ?? 0;
  if (!bm25 && dense && dense.bm25Weight > 0)
    throw new PipelineError('stages.dense.bm25Weight needs stage 2 (stages.bm25)', { field: 'stages.dense.bm25Weight' });
  const totalSteps = inBatch.steps + (bm25?.steps ?? 0) + rounds * (dense?.steps ?? 0);
  const analysed = new Set((config.analysis?.stages ?? []).map((s) => (s === 'final' ? finalStage(config) : s)));
  const steps: PipelineStep[] = [];
  const evals: EvalTarget[] = [];
  const evalStep = (target: Omit<EvalTarget, 'split' | 'resultFile'>, dir: string, split = config.eval.split) => {
    const full: EvalTarget = { ...target, split, resultFile: join(dir, `eval-${split}.json`) };
    steps.push({ id: `${target.stage}.eval${split === config.eval.split ? '' : `.${split}`}`, kind: 'eval', target: full });
    return full;
  };

  if (config.corpus.ingest) {
    const ingest = config.corpus.ingest;
    steps.push({ id: 'ingest', kind: 'ingest', out: passages, input: ingest.input ? resolve(ingest.input) : null, shards: ingest.shards });
  }
  // BM25 over the corpus: stage 2's source and a reference row.
  const bm25Indexes = join(shared, 'bm25', 'indexes');
  steps.push({ id: 'bm25.index', kind: 'job', shared: true, spec: { kind: 'index', input: null, output: bm25Indexes, indexes: [], bm25: { passages } } });
  if (config.eval.hybrid && !config.eval.baselines.bm25)
    throw new PipelineError('eval.hybrid fuses the final stage with the BM25 row: it needs eval.baselines.bm25 (or set eval.hybrid: false)', {
      field: 'eval.hybrid',
    });
  if (config.eval.baselines.bm25)
    evals.push(
      evalStep(
        { stage: 'bm25', indexSet: bm25Indexes, index: 'bm25', checkpoint: null, trainedSteps: null, ...(config.eval.hybrid ? { saveRun: true } : {}) },
        join(shared, 'bm25'),
      ),
    );
  if (config.eval.baselines.hashed) {
    const dir = join(shared, 'hashed');
    steps.push({
      id: 'hashed.encode',
      kind: 'job',
      shared: true,
      spec: { kind: 'encode', input: passages, output: join(dir, 'embeddings'), encoder: { kind: 'hashed-tfidf', dim: 256 } },
    });
    steps.push({
      id: 'hashed.index',
      kind: 'job',
      shared: true,
      spec: { kind: 'index', input: join(dir, 'embeddings'), output: join(dir, 'indexes'), indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }] },
    });
    evals.push(evalStep({ stage: 'hashed', indexSet: join(dir, 'indexes'), index: 'flat', checkpoint: null, trainedSteps: null }, dir));
  }

  /** A segment's training, then its checkpoint encoded, indexed and evaluated on the whole corpus (and analysed where asked). */
  const trainAndEvaluate = (segment: TrainSegment): { indexSet: string; checkpoint: string } => {
    const dir = join(seedDir, segment.stage);
    steps.push({ id: `${segment.stage}.train`, kind: 'train', segment });
    const checkpoint = join(segment.outDir, 'last');
    const embeddings = join(dir, 'embeddings');
    const indexSet = join(dir, 'indexes');
    steps.push({
      id: `${segment.stage}.encode`,
      kind: 'job',
      spec: { kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'model', path: checkpoint } },
    });
    steps.push({
      id: `${segment.stage}.index`,
      kind: 'job',
      spec: { kind: 'index', input: embeddings, output: indexSet, indexes: stageIndexes(config, analysed.has(segment.stage)) },
    });
    evals.push(evalStep({ stage: segment.stage, indexSet, index: 'flat', checkpoint, trainedSteps: segment.steps }, dir));
    if (analysed.has(segment.stage))
      steps.push({
        id: `${segment.stage}.analysis`,
        kind: 'analyse',
        target: {
          stage: segment.stage,
          indexSet,
          embeddings,
          checkpoint,
          trainedSteps: segment.steps,
          split: config.eval.split,
          resultFile: join(dir, `analysis-${config.eval.split}.json`),
        },
      });
    return { indexSet, checkpoint };
  };

  let trained = inBatch.steps;
  let latest = trainAndEvaluate({
    stage: 'stage1',
    outDir: join(seedDir, 'stage1', 'train'),
    steps: trained,
    continueFrom: null,
    negativesFrom: [],
    negativesPerQuery: 0,
  });
  let previous = { outDir: join(seedDir, 'stage1', 'train'), steps: trained };

  const bm25Negatives = join(shared, 'bm25', 'negatives');
  if (bm25) {
    steps.push({
      id: 'stage2.mine',
      kind: 'job',
      shared: true,
      spec: {
        kind: 'mine',
        input: bm25Indexes,
        output: bm25Negatives,
        queries: { passages, split: 'train' },
        source: { kind: 'bm25' },
        k: bm25.mine.k,
        filter: bm25.mine.filter,
        stage: 'stage2',
      },
    });
    trained += bm25.steps;
    latest = trainAndEvaluate({
      stage: 'stage2',
      outDir: join(seedDir, 'stage2', 'train'),
      steps: trained,
      continueFrom: join(previous.outDir, 'last'),
      negativesFrom: [{ path: bm25Negatives, weight: 1 }],
      negativesPerQuery: bm25.negativesPerQuery,
    });
    previous = { outDir: join(seedDir, 'stage2', 'train'), steps: trained };
  }

  for (let round = 1; dense && round <= rounds; round++) {
    const stage = `stage3.r${round}`;
    const negatives = join(seedDir, stage, 'negatives');
    steps.push({
      id: `${stage}.mine`,
      kind: 'job',
      spec: {
        kind: 'mine',
        input: latest.indexSet,
        output: negatives,
        queries: { passages, split: 'train' },
        source: {
          kind: 'dense',
          index: dense.index.factory === 'Flat' ? 'flat' : 'mine',
          ...(dense.index.efSearch ? { efSearch: dense.index.efSearch } : {}),
        },
        k: dense.mine.k,
        filter: dense.mine.filter,
        stage,
        checkpoint: { id: latest.checkpoint, step: previous.steps },
      },
    });
    trained += dense.steps;
    latest = trainAndEvaluate({
      stage,
      outDir: join(seedDir, stage, 'train'),
      steps: trained,
      continueFrom: join(previous.outDir, 'last'),
      negativesFrom: [{ path: negatives, weight: 1 }, ...(dense.bm25Weight > 0 ? [{ path: bm25Negatives, weight: dense.bm25Weight }] : [])],
      negativesPerQuery: dense.negativesPerQuery,
    });
    previous = { outDir: join(seedDir, stage, 'train'), steps: trained };
  }

  // The final stage fused with BM25: measured from the two rows' rankings, on each split after them.
  if (config.eval.hybrid) {
    const finalRow = evals.findLast((e) => e.checkpoint !== null)!;
    finalRow.saveRun = true;
    const finalDir = finalRow.resultFile.slice(0, finalRow.resultFile.lastIndexOf('/'));
    evals.push(
      evalStep(
        {
          stage: HYBRID_STAGE,
          indexSet: finalRow.indexSet,
          index: 'flat+bm25',
          checkpoint: finalRow.checkpoint,
          trainedSteps: finalRow.trainedSteps,
          fuse: [
            { runDir: finalDir, weight: 1 },
            { runDir: join(shared, 'bm25'), weight: 1 },
          ],
        },
        join(seedDir, HYBRID_STAGE),
      ),
    );
  }

  // The held-out split, once, at the end: every row measured the same way.
  if (config.eval.testSplit) {
    for (const target of evals) {
      const dir = target.resultFile.slice(0, target.resultFile.lastIndexOf('/'));
      const { split: _split, resultFile: _file, ...rest } = target;
      evalStep(rest, dir, config.eval.testSplit);
    }
  }
  return { seed, out, seedDir, stateFile: join(seedDir, 'pipeline.json'), passages, totalSteps, steps };
}
