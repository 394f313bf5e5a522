import type { NegativeRow } from './negatives-file.js';

/*
 * What `sci negatives inspect` prints: how the negatives spread over ranks
 * and sources, what the filters removed, and how many judged positives the
 * source ranked in its top-K (they would have been taught as negatives
 * without the positive filter).
 */

export const RANK_BUCKETS = [
  [1, 10],
  [11, 50],
  [51, 100],
  [101, 200],
  [201, Number.POSITIVE_INFINITY],
] as const;

export interface NegativesReport {
  rows: number;
  queries: number;
  perQuery: { min: number; mean: number; max: number };
  byRank: Array<{ bucket: string; rows: number }>;
  bySource: Array<{ source: string; stage: string; checkpoint: string | null; rows: number }>;
}

export function summarizeNegatives(rows: readonly NegativeRow[]): NegativesReport {
  const perQuery = new Map<string, number>();
  const bySource = new Map<string, { source: string; stage: string; checkpoint: string | null; rows: number }>();
  const byRank = RANK_BUCKETS.map(([from, to]) => ({ bucket: Number.isFinite(to) ? `${from}-${to}` : `${from}+`, rows: 0 }));
  for (const row of rows) {
    perQuery.set(row.queryId, (perQuery.get(row.queryId) ?? 0) + 1);
    const key = `${row.source}\u0000${row.stage}\u0000${row.checkpoint ?? ''}`;
    const entry = bySource.get(key) ?? { source: row.source, stage: row.stage, checkpoint: row.checkpoint, rows: 0 };
    entry.rows += 1;
    bySource.set(key, entry);
    const bucket = RANK_BUCKETS.findIndex(([from, to]) => row.rank >= from && row.rank <= to);
    byRank[bucket]!.rows += 1;
  }
  const counts = [...perQuery.values()];
  return {
    rows: rows.length,
    queries: perQuery.size,
    perQuery: {
      min: counts.length ? Math.min(...counts) : 0,
      mean: counts.length ? rows.length / counts.length : 0,
      max: counts.length ? Math.max(...counts) : 0,
    },
    byRank,
    bySource: [...bySource.values()].sort((a, b) => b.rows - a.rows),
  };
}
