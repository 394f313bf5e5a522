import { NegativeFilterSchema, type NegativeFilter } from '../jobs/index.js';
import { mergeTopK, type Hit } from '../search/index.js';
import type { Candidate } from './candidates.js';
import { mixSeed, seededRandom } from '../common/index.js';

/*
 * From every shard's top-K' candidates to one query's negatives: the global
 * top-K (the same merge the router uses, so per-shard Flat equals a global
 * Flat), then the filtering rules in a fixed order, each counted:
 *
 *   1. judged positives are removed (always), and with `answers` passages that contain one of
 *      the query's answers (DPR's has_answer convention, where the source gives answers);
 *   2. the top `skipTop` ranks are skipped (likely unjudged positives);
 *   3. only ranks inside `window` are kept;
 *   4. candidates scoring within `nearPositiveMargin` of the positive (or above it) are dropped
 *      as ambiguous near-duplicates of the positive;
 *   5. `sample` keeps n of the rest: uniformly, or by score relative to the positive as SimANS
 *      does, p ∝ exp(−a · (s⁻ − s⁺ − b)²), deterministic per (seed, query).
 *
 * Ranks are 1-based ranks in the global list, positives included, so a rank
 * means the same thing whatever was filtered.
 */

export { NegativeFilterSchema, type NegativeFilter };

export const FILTER_RULES = ['positive', 'answer', 'skipTop', 'window', 'nearPositive', 'sample'] as const;
export type FilterRule = (typeof FILTER_RULES)[number];

export interface SelectedNegative extends Hit {
  /** 1-based rank in the global list. */
  rank: number;
}

export interface QuerySelection {
  negatives: SelectedNegative[];
  /** Candidates each rule removed. */
  removed: Record<FilterRule, number>;
  /** Judged positives that were in the global top-K (they would have been negatives unfiltered). */
  positivesInTopK: number;
}

/**
 * One query: `lists` are the shards' ranked candidates, `positives` the judged
 * relevant row ids, `positiveScore` the best judged positive's score under the
 * same scorer (null when unknown: rules that need it then keep everything).
 * Positives are matched by passage id (unique in a shard set).
 */
export function selectNegatives(
  queryIndex: number,
  lists: readonly (readonly Candidate[])[],
  k: number,
  higherIsBetter: boolean,
  positives: ReadonlySet<string>,
  positiveScore: number | null,
  filter: NegativeFilter,
): QuerySelection {
  // mergeTopK passes the hit objects through, so the has-answer mark survives the merge.
  return filterRanked(queryIndex, mergeTopK(lists, k, higherIsBetter) as Candidate[], higherIsBetter, positives, positiveScore, filter);
}

/** The rules on a global top-K already merged (best first): what selectNegatives does after its merge. */
export function filterRanked(
  queryIndex: number,
  merged: readonly Candidate[],
  higherIsBetter: boolean,
  positives: ReadonlySet<string>,
  positiveScore: number | null,
  filter: NegativeFilter,
): QuerySelection {
  const removed: Record<FilterRule, number> = { positive: 0, answer: 0, skipTop: 0, window: 0, nearPositive: 0, sample: 0 };
  const ranked = merged.map((hit, i) => ({ ...hit, rank: i + 1 }));
  let kept: SelectedNegative[] = [];
  for (const hit of ranked) {
    if (positives.has(hit.externalId)) removed.positive += 1;
    else if (filter.answers && hit.hasAnswer) removed.answer += 1;
    else if (hit.rank <= filter.skipTop) removed.skipTop += 1;
    else if (filter.window && (hit.rank < filter.window.from || hit.rank > filter.window.to)) removed.window += 1;
    else if (
      filter.nearPositiveMargin !== null &&
      positiveScore !== null &&
      tooCloseToPositive(hit.score, positiveScore, filter.nearPositiveMargin, higherIsBetter)
    )
      removed.nearPositive += 1;
    else kept.push(hit);
  }
  const positivesInTopK = removed.positive;
  if (filter.sample && kept.length > filter.sample.n) {
    const chosen = sampleIndices(kept, filter.sample, positiveScore, higherIsBetter, queryIndex);
    removed.sample = kept.length - chosen.length;
    kept = chosen.map((i) => kept[i]!);
  }
  return { negatives: kept, removed, positivesInTopK };
}

function tooCloseToPositive(score: number, positive: number, margin: number, higherIsBetter: boolean): boolean {
  return higherIsBetter ? score >= positive - margin : score <= positive + margin;
}

/** n distinct indices, in rank order; weighted sampling without replacement (Efraimidis–Spirakis keys). */
function sampleIndices(
  kept: readonly SelectedNegative[],
  sample: NonNullable<NegativeFilter['sample']>,
  positiveScore: number | null,
  higherIsBetter: boolean,
  query: number,
): number[] {
  const random = seededRandom(mixSeed(sample.seed, query));
  const weight = (hit: SelectedNegative) => {
    if (sample.by === 'uniform' || positiveScore === null) return 1;
    // Scores oriented so that "higher = more similar" for both metrics.
    const gap = higherIsBetter ? hit.score - positiveScore : positiveScore - hit.score;
    return Math.exp(-sample.a * (gap - sample.b) ** 2);
  };
  const keyed = kept.map((hit, i) => ({ i, key: Math.log(Math.max(random(), Number.MIN_VALUE)) / Math.max(weight(hit), 1e-300) }));
  keyed.sort((x, y) => y.key - x.key);
  return keyed
    .slice(0, sample.n)
    .map((x) => x.i)
    .sort((a, b) => a - b);
}
