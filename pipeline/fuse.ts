import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { evaluateRun, loadJudgedQueries, reportDepths } from '../eval/index.js';
import { parseContract } from '../common/index.js';
import { PipelineError } from './errors.js';
import { runFileOf, type EvalTarget } from './plan.js';
import { evalResultOf, type EvalResult } from './state.js';

/*
 * A fused row (eval.hybrid): the rankings two evaluated rows kept, combined
 * by reciprocal rank as `sci search --hybrid` combines a dense and a BM25
 * answer (score Σ wᵢ / (60 + rankᵢ), rank from 1; search/merge.ts), and
 * measured on the same judged queries with the same metrics. Nothing is
 * searched again, so the row costs no index time and has no latency of its own.
 */

export const RunFileSchema = z.strictObject({
  split: z.string(),
  k: z.number().int().positive(),
  /** Query id → document ids, best first. */
  queries: z.record(z.string(), z.array(z.string())),
});
export type RunFile = z.infer<typeof RunFileSchema>;

/** The constant of reciprocal rank fusion (search/merge.ts uses the same). */
const RRF_C = 60;

export function readRunFile(file: string): RunFile {
  if (!existsSync(file)) throw new PipelineError(`the fused row needs a kept ranking that is not there: ${file} (run the row it belongs to again)`, { file });
  return parseContract(RunFileSchema, JSON.parse(readFileSync(file, 'utf8')), { what: 'ranking', emptyField: '(root)', error: PipelineError, file });
}

/** Reciprocal rank fusion of rankings of one query: top k, ties broken by document id. */
export function fuseRankings(rankings: ReadonlyArray<{ docIds: readonly string[]; weight: number }>, k: number): string[] {
  const scores = new Map<string, number>();
  for (const { docIds, weight } of rankings) docIds.forEach((id, r) => scores.set(id, (scores.get(id) ?? 0) + weight / (RRF_C + r + 1)));
  return [...scores.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, k)
    .map(([id]) => id);
}

export function evaluateFused(
  target: EvalTarget,
  options: { passages: string; k: number; maxQueries: number; fingerprint: string; passageCount: number },
): EvalResult {
  const parts = target.fuse!.map((f) => {
    const file = runFileOf(f.runDir, target.split);
    return { run: readRunFile(file), weight: f.weight, file };
  });
  const { sample, qrels } = loadJudgedQueries({
    queries: options.passages,
    split: target.split,
    ...(options.maxQueries > 0 ? { maxQueries: options.maxQueries } : {}),
  });
  const run = new Map<string, string[]>();
  for (const id of sample.ids) {
    const rankings = parts.map((p) => {
      const docIds = p.run.queries[id];
      if (docIds === undefined) throw new PipelineError(`ranking ${p.file} has no query ${id}: it was made for other queries`, { file: p.file });
      return { docIds, weight: p.weight };
    });
    run.set(id, fuseRankings(rankings, options.k));
  }
  return evalResultOf(target, {
    queries: sample.ids.length,
    passages: options.passageCount,
    metrics: evaluateRun(run, qrels, reportDepths(options.k)),
    latency: null,
    fingerprint: options.fingerprint,
  });
}
