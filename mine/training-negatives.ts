import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Corpus, NegativeSource, TrainingData } from '../encoder/index.js';
import { readNegativesFile } from './negatives-file.js';

/*
 * Mined negatives as training reads them: one or more mine job outputs,
 * mixed by weight. Per query, `pick` first chooses a file in proportion to
 * its weight (among the files that have negatives for the query), then a
 * negative of that file uniformly, so a draw is deterministic given the
 * trainer's seeded random source and resampled at every step.
 */

export interface MinedNegativesInput {
  /** A mine job's output folder (negatives.arrow inside) or a negatives.arrow file. */
  path: string;
  /** Relative weight of this file in the mix. @defaultValue 1 */
  weight: number;
}

export interface MinedNegativeSource extends NegativeSource {
  pick(queryId: string, random: () => number): number | null;
  /** Rows read per file, and rows dropped because their passage is not in the corpus or is a judged positive. */
  readonly stats: Array<{ path: string; rows: number; dropped: number; queries: number }>;
}

/** `judged` gives a query's judged-relevant corpus positions: they are never negatives, whatever the file says. */
export function openMinedNegatives(
  inputs: readonly MinedNegativesInput[],
  corpus: Corpus,
  judged: (queryId: string) => ReadonlySet<number>,
): MinedNegativeSource {
  const files = inputs.map((input) => {
    const file = existsSync(join(input.path, 'negatives.arrow')) ? join(input.path, 'negatives.arrow') : input.path;
    const byQuery = new Map<string, number[]>();
    let rows = 0;
    let dropped = 0;
    for (const row of readNegativesFile(file)) {
      rows += 1;
      const position = corpus.position.get(row.passageId);
      if (position === undefined || judged(row.queryId).has(position)) {
        dropped += 1;
        continue;
      }
      let list = byQuery.get(row.queryId);
      if (!list) byQuery.set(row.queryId, (list = []));
      list.push(position);
    }
    return { path: file, weight: input.weight, byQuery, rows, dropped };
  });
  return {
    name: `mined(${files.map((f) => `${f.path}×${f.weight}`).join(', ')})`,
    stats: files.map((f) => ({ path: f.path, rows: f.rows, dropped: f.dropped, queries: f.byQuery.size })),
    negativesOf: (queryId) => files.flatMap((f) => f.byQuery.get(queryId) ?? []),
    pick(queryId, random) {
      const having = files.filter((f) => (f.byQuery.get(queryId)?.length ?? 0) > 0 && f.weight > 0);
      if (having.length === 0) return null;
      let r = random() * having.reduce((s, f) => s + f.weight, 0);
      const file = having.find((f) => (r -= f.weight) < 0) ?? having[having.length - 1]!;
      const list = file.byQuery.get(queryId)!;
      return list[Math.floor(random() * list.length)]!;
    },
  };
}

/** Mined negatives for `sci train`'s data: each training query's judged positives are never its negatives. */
export function openMinedNegativesFor(data: TrainingData, inputs: readonly MinedNegativesInput[]): MinedNegativeSource {
  const byQuery = new Map<string, Set<number>>();
  for (const pair of data.pairs) {
    let set = byQuery.get(pair.queryId);
    if (!set) byQuery.set(pair.queryId, (set = new Set()));
    set.add(pair.positive);
  }
  const none = new Set<number>();
  return openMinedNegatives(inputs, data.corpus, (queryId) => byQuery.get(queryId) ?? none);
}
