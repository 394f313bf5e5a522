import { z } from 'zod';
import { FILTER_RULES, filterRanked, type FilterRule, type NegativeFilter } from './select.js';
import type { ColumnBatch, OpenCandidates } from './candidates-file.js';
import { QUERY_BATCH, type Candidate } from './candidates.js';
import type { NegativeRow, NegativesWriter } from './negatives-file.js';
import { MineInputError, MineInvariantError } from './errors.js';

/*
 * The merge stage: every shard's candidates → per query the global top-K,
 * filtered, written with provenance, and an account that adds up: queries in
 * = queries with negatives + queries with none (each with its reason).
 */

export interface MineQueries {
  ids: readonly string[];
  /** Passage ids of each query's judged-relevant passages that are in the corpus. */
  positives: readonly ReadonlySet<string>[];
}

export interface Provenance {
  stage: string;
  source: string;
  checkpoint: string | null;
  step: number | null;
}

export const MineAccountSchema = z.strictObject({
  queriesIn: z.number().int().nonnegative(),
  withNegatives: z.number().int().nonnegative(),
  withNone: z.number().int().nonnegative(),
  /** reason → queries with no negative for it. */
  noneReasons: z.record(z.string(), z.number().int().nonnegative()),
  rows: z.number().int().nonnegative(),
  /** Candidates each filtering rule removed. */
  removed: z.record(z.enum(FILTER_RULES), z.number().int().nonnegative()),
  /** Judged positives found in the global top-K: what an unfiltered file would have taught as negatives. */
  positivesInTopK: z.number().int().nonnegative(),
  queriesWithPositiveInTopK: z.number().int().nonnegative(),
});
export type MineAccount = z.infer<typeof MineAccountSchema>;

/**
 * Query i of a batch: the global top-k over every shard's ranked rows, by the router's merge
 * (search/merge.ts mergeTopK: a heap over the shards' heads, the better score first, ties to the
 * smaller row id) on the columns; only the k winners become objects, their passage ids decoded.
 */
function mergeColumns(parts: readonly ColumnBatch[], i: number, k: number, higherIsBetter: boolean): Candidate[] {
  const position = parts.map((p) => p.begin[i]!);
  const better = (a: number, b: number) => {
    const sa = parts[a]!.scores[position[a]!]!;
    const sb = parts[b]!.scores[position[b]!]!;
    if (sa !== sb) return higherIsBetter ? sa > sb : sa < sb;
    return parts[a]!.rowIds[position[a]!]! < parts[b]!.rowIds[position[b]!]!;
  };
  const heap: number[] = [];
  const up = (at: number) => {
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!better(heap[at]!, heap[parent]!)) break;
      [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
      at = parent;
    }
  };
  const down = (at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let best = at;
      if (l < heap.length && better(heap[l]!, heap[best]!)) best = l;
      if (r < heap.length && better(heap[r]!, heap[best]!)) best = r;
      if (best === at) return;
      [heap[at], heap[best]] = [heap[best]!, heap[at]!];
      at = best;
    }
  };
  parts.forEach((p, s) => {
    if (p.begin[i]! < p.end[i]!) {
      heap.push(s);
      up(heap.length - 1);
    }
  });
  const out: Candidate[] = [];
  while (out.length < k && heap.length > 0) {
    const s = heap[0]!;
    const p = parts[s]!;
    const row = position[s]!;
    out.push({ rowId: p.rowIds[row]!, externalId: p.externalId(row), score: p.scores[row]!, shard: p.shard, hasAnswer: p.hasAnswer[row] === 1 });
    position[s] = row + 1;
    if (row + 1 >= p.end[i]!) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) down(0);
  }
  return out;
}

/** Queries [from, to) of the split: what one merge part covers. */
export interface QueryRange {
  from: number;
  to: number;
}

/**
 * Part `part` of `parts` of a split of `queries` queries: whole batches of QUERY_BATCH queries
 * (the candidates files' record batches), spread evenly; a part may be empty where the split
 * has fewer batches than parts.
 */
export function mergePartRange(part: number, parts: number, queries: number): QueryRange {
  if (!Number.isInteger(parts) || parts < 1 || !Number.isInteger(part) || part < 0 || part >= parts)
    throw new MineInvariantError(`merge part ${part} of ${parts}`);
  const batches = Math.ceil(queries / QUERY_BATCH);
  const at = (p: number) => Math.min(queries, Math.floor((p * batches) / parts) * QUERY_BATCH);
  return { from: at(part), to: at(part + 1) };
}

/**
 * Reads every shard's candidates in lockstep, a batch of queries at a time (memory: shards ×
 * batch × K), for the queries of `range` (the shards' files opened at `range.from`). The
 * negatives writer flushes at the end of every batch of queries, so the file's record batches
 * depend on the queries alone: the parts of a split merge, concatenated, are the single merge's
 * file byte for byte.
 */
export async function mergeCandidates(
  shards: readonly OpenCandidates[],
  queries: MineQueries,
  k: number,
  filter: NegativeFilter,
  provenance: Provenance,
  out: NegativesWriter,
  range: QueryRange = { from: 0, to: queries.ids.length },
): Promise<MineAccount> {
  const nq = queries.ids.length;
  if (range.from < 0 || range.from > range.to || range.to > nq)
    throw new MineInvariantError(`query range [${range.from}, ${range.to}) outside the split's ${nq} queries`);
  for (const s of shards) if (s.queries !== nq) throw new MineInputError(`shard ${s.shard} has candidates for ${s.queries} queries, expected ${nq}`);
  const higherIsBetter = shards[0]?.higherIsBetter ?? true;
  const removed = Object.fromEntries(FILTER_RULES.map((r) => [r, 0])) as Record<FilterRule, number>;
  const noneReasons: Record<string, number> = {};
  let withNegatives = 0;
  let rows = 0;
  let positivesInTopK = 0;
  let queriesWithPositiveInTopK = 0;
  const none = (reason: string) => (noneReasons[reason] = (noneReasons[reason] ?? 0) + 1);
  for (let done = range.from; done < range.to;) {
    const batches = await Promise.all(shards.map((s) => s.batches.next()));
    const parts = batches.map((b, i) => {
      if (b.done || b.value.start !== done) throw new MineInputError(`shard ${shards[i]!.shard}: candidate batches do not line up at query ${done}`);
      return b.value;
    });
    const size = parts[0]!.queries;
    if (parts.some((p) => p.queries !== size)) throw new MineInputError(`candidate batches of different sizes at query ${done}`);
    if (done + size > range.to) throw new MineInputError(`the candidate batch at query ${done} runs past the range's end ${range.to}`);
    for (let i = 0; i < size; i++) {
      const q = done + i;
      // No (query, positive) pair to train on: its negatives would never be used.
      if (queries.positives[q]!.size === 0) {
        none('no judged positive in the corpus');
        continue;
      }
      let positiveScore: number | null = null;
      for (const p of parts) {
        const score = p.positiveScores[i]!;
        if (!Number.isNaN(score) && (positiveScore === null || (higherIsBetter ? score > positiveScore : score < positiveScore))) positiveScore = score;
      }
      const merged = mergeColumns(parts, i, k, higherIsBetter);
      const selection = filterRanked(q, merged, higherIsBetter, queries.positives[q]!, positiveScore, filter);
      for (const rule of FILTER_RULES) removed[rule] += selection.removed[rule];
      positivesInTopK += selection.positivesInTopK;
      if (selection.positivesInTopK > 0) queriesWithPositiveInTopK += 1;
      if (selection.negatives.length === 0) {
        if (merged.length === 0) none('no candidates (the source matched nothing)');
        else none('every candidate was filtered out');
        continue;
      }
      withNegatives += 1;
      const queryId = queries.ids[q]!;
      const batch: NegativeRow[] = selection.negatives.map((n) => ({
        queryId,
        rowId: n.rowId,
        passageId: n.externalId,
        rank: n.rank,
        score: n.score,
        positiveScore,
        shard: n.shard,
        ...provenance,
      }));
      out.add(batch);
      rows += batch.length;
    }
    out.endBatch();
    done += size;
  }
  const queriesIn = range.to - range.from;
  const withNone = queriesIn - withNegatives;
  return { queriesIn, withNegatives, withNone, noneReasons, rows, removed, positivesInTopK, queriesWithPositiveInTopK };
}

/** The accounts of a split merge's parts, in query order, as the single merge would have counted them. */
export function sumAccounts(parts: readonly MineAccount[]): MineAccount {
  const total: MineAccount = {
    queriesIn: 0,
    withNegatives: 0,
    withNone: 0,
    noneReasons: {},
    rows: 0,
    removed: Object.fromEntries(FILTER_RULES.map((r) => [r, 0])) as Record<FilterRule, number>,
    positivesInTopK: 0,
    queriesWithPositiveInTopK: 0,
  };
  for (const part of parts) {
    total.queriesIn += part.queriesIn;
    total.withNegatives += part.withNegatives;
    total.withNone += part.withNone;
    total.rows += part.rows;
    total.positivesInTopK += part.positivesInTopK;
    total.queriesWithPositiveInTopK += part.queriesWithPositiveInTopK;
    // Reasons in order of first occurrence over the queries, as one pass would have met them.
    for (const [reason, n] of Object.entries(part.noneReasons)) total.noneReasons[reason] = (total.noneReasons[reason] ?? 0) + n;
    for (const rule of FILTER_RULES) total.removed[rule] += part.removed[rule] ?? 0;
  }
  return total;
}
