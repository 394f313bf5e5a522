import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * How often a WordNet synset's senses occur in sense-tagged text: the sum of
 * the tag counts (the last field of index.sense, from SemCor and the other
 * tagged corpora) of its senses, keyed like our passages: `<offset>-<ss_type>`.
 * Synsets never tagged count 0: the long tail.
 */

const SS_TYPE = { 1: 'n', 2: 'v', 3: 'a', 4: 'r', 5: 's' } as const;

/** Tag counts per synset, or null when the dictionary folder has no index.sense. */
export function readSynsetTagCounts(dictDir: string): Map<string, number> | null {
  const file = join(dictDir, 'index.sense');
  if (!existsSync(file)) return null;
  const counts = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [key, offset, , tagCount] = line.trim().split(' ');
    if (!key || !offset || tagCount === undefined) continue;
    const type = SS_TYPE[Number(key.split('%')[1]?.charAt(0)) as keyof typeof SS_TYPE];
    if (!type) continue;
    const id = `${offset}-${type}`;
    counts.set(id, (counts.get(id) ?? 0) + Number(tagCount));
  }
  return counts;
}
