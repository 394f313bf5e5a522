import { reciprocalRankFusion, type Hit } from '../search/index.js';
import { EvalInputError } from './errors.js';
import { evaluateRun, type MeanMetrics, type Qrels } from './metrics.js';
import { reportDepths } from './served-evaluation.js';

/*
 * The hybrid row of an evaluation: a dense index's and BM25's rankings of the
 * same queries, fused by reciprocal rank exactly as `sci search --hybrid` and
 * the API fuse them (search/merge.ts: Σ weight / (60 + rank), ties to the
 * smaller row id), measured with the same metrics. It reuses the two rows'
 * rankings, so it has no latency or distance count of its own.
 */

export interface HybridReport {
  name: 'hybrid';
  dense: string;
  lexical: string;
  weights: { dense: number; lexical: number };
  /** The constant of reciprocal rank fusion. */
  c: number;
  metrics: MeanMetrics;
}

/** One index's ranking per query id, as the evaluation kept it. */
type KeptList = ReadonlyArray<{ docId: string; score: number; rowId: number }>;
export type KeptRun = ReadonlyMap<string, KeptList>;

const RRF_C = 60;

export function fuseKeptRuns(dense: KeptRun, lexical: KeptRun, k: number, weights = { dense: 1, lexical: 1 }): Map<string, Hit[]> {
  const hits = (list: KeptList): Hit[] => list.map((h) => ({ rowId: h.rowId, externalId: h.docId, score: h.score, shard: 0 }));
  const fused = new Map<string, Hit[]>();
  for (const [id, list] of dense) {
    const other = lexical.get(id) ?? [];
    fused.set(
      id,
      reciprocalRankFusion(
        [
          { hits: hits(list), weight: weights.dense },
          { hits: hits(other), weight: weights.lexical },
        ],
        k,
      ),
    );
  }
  return fused;
}

export function evaluateHybrid(
  runs: ReadonlyMap<string, KeptRun>,
  dense: string,
  lexical: string,
  qrels: Qrels,
  k: number,
): { report: HybridReport; run: Map<string, Hit[]> } {
  const a = runs.get(dense);
  const b = runs.get(lexical);
  if (!a || !b) throw new EvalInputError(`the hybrid row needs both ${dense} and ${lexical} evaluated`);
  const weights = { dense: 1, lexical: 1 };
  const run = fuseKeptRuns(a, b, k, weights);
  const metrics = evaluateRun(new Map([...run].map(([id, hits]) => [id, hits.map((h) => h.externalId)])), qrels, reportDepths(k));
  return { report: { name: 'hybrid', dense, lexical, weights, c: RRF_C, metrics }, run };
}
