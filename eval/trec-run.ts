import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { renameSync } from 'node:fs';
import { tempPathFor } from '../common/index.js';

export interface RankedList {
  queryId: string;
  /** Best first. */
  hits: Array<{ docId: string; score: number }>;
}

/** Writes a TREC run file (`qid Q0 docid rank score tag`), through a temp name. */
export async function writeTrecRun(path: string, lists: Iterable<RankedList>, tag: string): Promise<number> {
  if (/\s/.test(tag)) throw new Error(`run tag must not contain spaces: ${JSON.stringify(tag)}`);
  const temp = tempPathFor(path);
  const out = createWriteStream(temp);
  let lines = 0;
  for (const list of lists) {
    let rank = 1;
    for (const hit of list.hits) {
      if (!out.write(`${list.queryId} Q0 ${hit.docId} ${rank++} ${hit.score.toFixed(6)} ${tag}\n`)) await once(out, 'drain');
      lines += 1;
    }
  }
  out.end();
  await once(out, 'close');
  renameSync(temp, path);
  return lines;
}

/** Reads a TREC run back: query id → doc ids best first. */
export function parseTrecRun(text: string): Map<string, string[]> {
  const runs = new Map<string, Array<{ docId: string; rank: number }>>();
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 6) continue;
    const [qid, , docId, rank] = parts as [string, string, string, string];
    if (!runs.has(qid)) runs.set(qid, []);
    runs.get(qid)!.push({ docId, rank: Number(rank) });
  }
  return new Map([...runs].map(([q, hits]) => [q, hits.sort((a, b) => a.rank - b.rank).map((h) => h.docId)]));
}
