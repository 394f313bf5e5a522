import type { NatsConnection } from 'nats';
import type { Logger } from '../common/index.js';
import { evaluateIndexes, loadJudgedQueries } from '../eval/index.js';
import { withServedIndexSet } from './served-index-set.js';
import type { Storage } from '../storage/index.js';
import type { EncoderSettings } from '../encoder/index.js';
import { PipelineError } from './errors.js';
import { runFileOf, type EvalTarget } from './plan.js';
import type { RunFile } from './fuse.js';
import { dirname } from 'node:path';
import { evalResultOf, type EvalResult } from './state.js';

/*
 * A pipeline evaluation: the stage's index set served by shard servers in
 * this process (one per shard set, on the cluster's NATS), the judged queries
 * of a split sent through scatter-gather over the whole corpus, trec_eval
 * means over the evaluated queries. A partial answer (a shard missing)
 * fails the evaluation rather than reporting lower numbers.
 */

export interface EvaluateOptions {
  nc: NatsConnection;
  storage: Storage;
  encoderSettings?: EncoderSettings | undefined;
  passages: string;
  k: number;
  /** 0 = every judged query of the split. */
  maxQueries: number;
  logger: Logger;
  fingerprint: string;
}

export async function evaluateTarget(target: EvalTarget, options: EvaluateOptions): Promise<EvalResult> {
  const { nc, storage, logger } = options;
  const { encoderSettings } = options;
  return withServedIndexSet({ nc, storage, indexSet: target.indexSet, logger, maxK: Math.max(options.k, 1000), encoderSettings }, async (service) => {
    const { sample, qrels } = loadJudgedQueries({
      queries: options.passages,
      split: target.split,
      ...(options.maxQueries > 0 ? { maxQueries: options.maxQueries } : {}),
    });
    const { reports, runs } = await evaluateIndexes(service, [target.index], sample, qrels, {
      k: options.k,
      batchSize: 128,
      latencyQueries: 100,
      sweep: false,
      sweepQueries: 0,
      deadlineMs: 60_000,
    });
    const report = reports[0]!;
    if (report.partialAnswers > 0)
      throw new PipelineError(
        `${target.stage} ${target.split}: ${report.partialAnswers} partial answers (a shard did not answer); not recording lower numbers`,
      );
    if (target.saveRun) {
      // The ranking a fused row reads (pipeline/fuse.ts): document ids only, best first.
      const ranked = runs.get(target.index)!;
      const kept: RunFile = { split: target.split, k: options.k, queries: Object.fromEntries([...ranked].map(([id, hits]) => [id, hits.map((h) => h.docId)])) };
      await storage.writeText(runFileOf(dirname(target.resultFile), target.split), JSON.stringify(kept));
    }
    return evalResultOf(target, {
      queries: sample.ids.length,
      passages: service.router.indexSet.manifest.shards.reduce((sum, s) => sum + s.rows, 0),
      metrics: report.metrics,
      latency: { p50Ms: report.latency.p50Ms, p99Ms: report.latency.p99Ms },
      fingerprint: options.fingerprint,
    });
  });
}
