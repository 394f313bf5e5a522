import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { IngestError } from '../errors.js';
import type { RowKind } from '../reject-log.js';
import { mapLines } from './lines.js';
import { excerpt, type IngestContext, type IngestEvent, type Ingester, type Origin } from './types.js';

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
    this.corpus = join(dir, 'corpus.jsonl');
    if (!existsSync(this.corpus)) throw new IngestError('BEIR folder has no corpus.jsonl', { file: this.corpus });
    const queries = join(dir, 'queries.jsonl');
    this.queries = existsSync(queries) ? queries : null;
    const qrelsDir = join(dir, 'qrels');
    this.qrels = [];
    if (existsSync(join(dir, 'qrels.tsv'))) this.qrels.push({ split: options.qrelsSplit ?? 'default', path: join(dir, 'qrels.tsv') });
    if (existsSync(qrelsDir) && statSync(qrelsDir).isDirectory()) {
      for (const name of readdirSync(qrelsDir)
        .filter((n) => n.endsWith('.tsv'))
        .sort()) {
        this.qrels.push({ split: basename(name, '.tsv'), path: join(qrelsDir, name) });
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
      if (obj === null) return;
      const id = idField(obj, '_id', text, origin, 'passage', context.excerptChars, out);
      if (id === null) return;
      const title = optionalString(obj, 'title', text, origin, 'passage', context.excerptChars, out);
      const body = optionalString(obj, 'text', text, origin, 'passage', context.excerptChars, out);
      if (title === undefined || body === undefined) return;
      if (body === null && title === null) {
        reject(out, origin, 'passage', 'missing_field', 'missing field "text"', text, context.excerptChars);
        return;
      }
      out.push({ ...origin, type: 'passage', externalId: id, title: title ?? '', text: body ?? '' });
    });
    if (this.queries) {
      yield* mapLines(this.queries, 'query', context, (text, origin, out) => {
        const obj = parseJsonObject(text, origin, 'query', context.excerptChars, out);
        if (obj === null) return;
        const id = idField(obj, '_id', text, origin, 'query', context.excerptChars, out);
        if (id === null) return;
        const body = optionalString(obj, 'text', text, origin, 'query', context.excerptChars, out);
        if (body === undefined) return;
        if (body === null || body.trim() === '') {
          reject(
            out,
            origin,
            'query',
            body === null ? 'missing_field' : 'empty_text',
            body === null ? 'missing field "text"' : 'empty query text',
            text,
            context.excerptChars,
          );
          return;
        }
        const { _id: _ignoredId, text: _ignoredText, ...extra } = obj;
        out.push({ ...origin, type: 'query', id, text: body, split: null, extra });
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

function reject(
  out: IngestEvent[],
  origin: Origin,
  kind: RowKind,
  reason: Extract<IngestEvent, { type: 'reject' }>['reason'],
  message: string,
  text: string,
  chars: number,
): void {
  out.push({ ...origin, type: 'reject', kind, reason, message, excerpt: excerpt(text, chars) });
}

function parseJsonObject(text: string, origin: Origin, kind: RowKind, chars: number, out: IngestEvent[]): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    reject(out, origin, kind, 'malformed_json', `not valid JSON: ${(err as Error).message}`, text, chars);
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    reject(out, origin, kind, 'not_an_object', 'expected a JSON object', text, chars);
    return null;
  }
  return value as Record<string, unknown>;
}

function idField(obj: Record<string, unknown>, field: string, text: string, origin: Origin, kind: RowKind, chars: number, out: IngestEvent[]): string | null {
  const value = obj[field];
  if (value === undefined || value === null || value === '') {
    reject(out, origin, kind, 'missing_field', `missing field "${field}"`, text, chars);
    return null;
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    reject(out, origin, kind, 'wrong_type', `field "${field}" must be a string or number`, text, chars);
    return null;
  }
  return String(value);
}

/** The string value, null when absent, undefined after rejecting a wrong type. */
function optionalString(
  obj: Record<string, unknown>,
  field: string,
  text: string,
  origin: Origin,
  kind: RowKind,
  chars: number,
  out: IngestEvent[],
): string | null | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    reject(out, origin, kind, 'wrong_type', `field "${field}" must be a string`, text, chars);
    return undefined;
  }
  return value;
}
