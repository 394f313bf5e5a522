/*
 * Ranking metrics over judged relevance (qrels), as trec_eval computes them:
 * nDCG@k with gain = relevance grade and log2(rank + 1) discount, the ideal
 * ranking from the judged grades; MRR@k; two recalls, labelled: the
 * fraction of relevant documents retrieved in the top k, and "success"
 * (any relevant document in the top k, the DPR "top-k accuracy" style).
 */

export type Qrels = Map<string, Map<string, number>>;

export function ndcgAtK(ranked: readonly string[], judged: ReadonlyMap<string, number>, k: number): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((doc, i) => {
    const gain = judged.get(doc) ?? 0;
    if (gain > 0) dcg += gain / Math.log2(i + 2);
  });
  const ideal = [...judged.values()]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  const idcg = ideal.reduce((sum, gain, i) => sum + gain / Math.log2(i + 2), 0);
  return idcg === 0 ? 0 : dcg / idcg;
}

export function mrrAtK(ranked: readonly string[], judged: ReadonlyMap<string, number>, k: number): number {
  const index = ranked.slice(0, k).findIndex((doc) => (judged.get(doc) ?? 0) > 0);
  return index === -1 ? 0 : 1 / (index + 1);
}

/** Fraction of the relevant documents found in the top k. */
export function recallAtK(ranked: readonly string[], judged: ReadonlyMap<string, number>, k: number): number {
  const relevant = [...judged.entries()].filter(([, g]) => g > 0).length;
  if (relevant === 0) return 0;
  return ranked.slice(0, k).filter((doc) => (judged.get(doc) ?? 0) > 0).length / relevant;
}

/** 1 when any relevant document is in the top k. */
export function successAtK(ranked: readonly string[], judged: ReadonlyMap<string, number>, k: number): number {
  return ranked.slice(0, k).some((doc) => (judged.get(doc) ?? 0) > 0) ? 1 : 0;
}

export interface MeanMetrics {
  queries: number;
  [metric: string]: number;
}

/**
 * Means as trec_eval computes them by default: over the queries that are in
 * the run AND have at least one relevant judgment (a query with no relevant
 * document has no defined recall and is skipped). A judged query missing
 * from the run is skipped too, unless `complete` is set (trec_eval -c): then
 * it counts as 0 for every measure. `queries` is the number averaged over —
 * print it beside the means.
 */
export function evaluateRun(
  run: ReadonlyMap<string, readonly string[]>,
  qrels: Qrels,
  ks: { ndcg?: number[]; mrr?: number[]; recall?: number[]; success?: number[] } = {},
  options: { complete?: boolean } = {},
): MeanMetrics {
  const sums: Record<string, number> = {};
  const names = [
    ...(ks.ndcg ?? [10]).map((k) => `nDCG@${k}`),
    ...(ks.mrr ?? [10]).map((k) => `MRR@${k}`),
    ...(ks.recall ?? [100]).map((k) => `Recall@${k}`),
    ...(ks.success ?? []).map((k) => `Success@${k}`),
  ];
  for (const name of names) sums[name] = 0;
  let queries = 0;
  for (const [queryId, judged] of qrels) {
    if (![...judged.values()].some((g) => g > 0)) continue;
    const ranked = run.get(queryId);
    if (ranked === undefined && !options.complete) continue;
    queries += 1;
    if (ranked === undefined) continue;
    const add = (name: string, value: number) => (sums[name] = sums[name]! + value);
    for (const k of ks.ndcg ?? [10]) add(`nDCG@${k}`, ndcgAtK(ranked, judged, k));
    for (const k of ks.mrr ?? [10]) add(`MRR@${k}`, mrrAtK(ranked, judged, k));
    for (const k of ks.recall ?? [100]) add(`Recall@${k}`, recallAtK(ranked, judged, k));
    for (const k of ks.success ?? []) add(`Success@${k}`, successAtK(ranked, judged, k));
  }
  const out: MeanMetrics = { queries };
  for (const name of names) out[name] = queries === 0 ? 0 : sums[name]! / queries;
  return out;
}

/** Parses `query-id corpus-id score` TSV (with or without header) into qrels. */
export function parseQrels(text: string): Qrels {
  const qrels: Qrels = new Map();
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 3 || parts[0] === 'query-id') continue;
    const [q, d, s] = parts.length >= 4 ? [parts[0]!, parts[2]!, parts[3]!] : [parts[0]!, parts[1]!, parts[2]!];
    if (!qrels.has(q)) qrels.set(q, new Map());
    qrels.get(q)!.set(d, Number(s));
  }
  return qrels;
}

/** The ranking metrics every report shows per row (pipeline, experiment grid, `sci pipeline status`). */
export const REPORT_METRICS = ['Recall@10', 'MRR@10', 'nDCG@10', 'Recall@100'] as const;
