import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IngestError } from '../errors.js';
import { mapLines } from './lines.js';
import { parseJsonObject, passageRecord, queryRecord, reject } from './records.js';
import type { IngestContext, IngestEvent, Ingester } from './types.js';

/*
 * BEIR-style folder: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl`
 * (`_id`, `text`, extra fields kept), and judgments either as one `qrels.tsv`
 * (split named by `qrelsSplit`) or as `qrels/<split>.tsv`, each with the
 * header `query-id  corpus-id  score`. Read in that order: corpus, queries,
 * judgments, so judgments can be checked against both id sets.
 */

export interface BeirIngesterOptions {
  /** Split name for a single `qrels.tsv`. @defaultValue 'default' */
  qrelsSplit?: string;
}

export class BeirIngester implements Ingester {
  private readonly corpus: string;
  private readonly queries: string | null;
  private readonly qrels: Array<{ split: string; path: string }>;

  constructor(
    private readonly dir: string,
    options: BeirIngesterOptions = {},
  ) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new IngestError(`BEIR input must be a folder`, { file: dir });
    const corpus = plainOrGzip(join(dir, 'corpus.jsonl'));
    if (!corpus) throw new IngestError('BEIR folder has no corpus.jsonl (or corpus.jsonl.gz)', { file: join(dir, 'corpus.jsonl') });
    this.corpus = corpus;
    this.queries = plainOrGzip(join(dir, 'queries.jsonl'));
    const qrelsDir = join(dir, 'qrels');
    this.qrels = [];
    const single = plainOrGzip(join(dir, 'qrels.tsv'));
    if (single) this.qrels.push({ split: options.qrelsSplit ?? 'default', path: single });
    if (existsSync(qrelsDir) && statSync(qrelsDir).isDirectory()) {
      for (const name of readdirSync(qrelsDir)
        .filter((n) => n.endsWith('.tsv') || n.endsWith('.tsv.gz'))
        .sort()) {
        this.qrels.push({ split: basename(basename(name, '.gz'), '.tsv'), path: join(qrelsDir, name) });
      }
    }
    if (this.qrels.length > 0 && this.queries === null) throw new IngestError('BEIR folder has judgments but no queries.jsonl', { file: dir });
  }

  files(): string[] {
    return [this.corpus, ...(this.queries ? [this.queries] : []), ...this.qrels.map((q) => q.path)];
  }

  async *events(context: IngestContext): AsyncIterable<IngestEvent[]> {
    yield* mapLines(this.corpus, 'passage', context, (text, origin, out) => {
      const obj = parseJsonObject(text, origin, 'passage', context.excerptChars, out);
      if (obj !== null) passageRecord(obj, ['_id'], origin, text, context.excerptChars, out);
    });
    if (this.queries) {
      yield* mapLines(this.queries, 'query', context, (text, origin, out) => {
        const obj = parseJsonObject(text, origin, 'query', context.excerptChars, out);
        if (obj !== null) queryRecord(obj, ['_id'], origin, text, context.excerptChars, out);
      });
    }
    for (const { split, path } of this.qrels) yield* qrelsEvents(path, split, context);
  }
}

export async function* qrelsEvents(path: string, split: string, context: IngestContext): AsyncGenerator<IngestEvent[]> {
  let sawHeader = false;
  yield* mapLines(path, 'qrel', context, (text, origin, out) => {
    const fields = text.split('\t');
    if (!sawHeader) {
      sawHeader = true;
      if (fields[0]?.trim().toLowerCase() === 'query-id') {
        out.push({ ...origin, type: 'skip', what: 'header' });
        return;
      }
    }
    // TREC qrels (`qid 0 docid rel`, space-separated) are accepted as well.
    const parts = fields.length === 3 ? fields : text.trim().split(/\s+/);
    const [queryId, corpusId, scoreText] = parts.length === 4 ? [parts[0], parts[2], parts[3]] : parts;
    if ((parts.length !== 3 && parts.length !== 4) || !queryId || !corpusId || scoreText === undefined) {
      reject(out, origin, 'qrel', 'wrong_field_count', `expected query-id, corpus-id, score; found ${parts.length} field(s)`, text, context.excerptChars);
      return;
    }
    const score = Number(scoreText);
    if (!Number.isInteger(score)) {
      reject(out, origin, 'qrel', 'bad_score', `score ${JSON.stringify(scoreText)} is not an integer`, text, context.excerptChars);
      return;
    }
    out.push({ ...origin, type: 'qrel', split, queryId: queryId.trim(), corpusId: corpusId.trim(), score });
  });
}

/** `path`, or `path.gz` (the Hugging Face and BEIR downloads' compressed form), or null when neither exists. */
function plainOrGzip(path: string): string | null {
  if (existsSync(path)) return path;
  return existsSync(`${path}.gz`) ? `${path}.gz` : null;
}
