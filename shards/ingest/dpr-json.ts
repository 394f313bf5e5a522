import { statSync } from 'node:fs';
import { contentBytes, namingGzipFile, openCorpusFile } from '../compressed.js';
import { createRequire } from 'node:module';
import { IngestError } from '../errors.js';
import { excerpt, type IngestContext, type IngestEvent, type Ingester, type Origin } from './types.js';

/*
 * DPR retriever JSON (`biencoder-nq-train.json` and friends): one JSON array
 * of question records, streamed element by element (the train files are GBs).
 *
 * Each record gives a query (id: its `id`/`qid` field, else the 1-based
 * record index), the passages of `positive_ctxs`, `negative_ctxs` and
 * `hard_negative_ctxs` (keyed by `passage_id`), judgments (score 1) for its
 * positives and negatives lists for training. The same passage appears under
 * many questions: its first appearance is the row, later ones are counted as
 * references. Positions in rejections are record indexes, not lines.
 */

const require = createRequire(import.meta.url);
// stream-json is CommonJS without ESM entry points.
const StreamArray = require('stream-json/streamers/StreamArray') as {
  withParser(): NodeJS.ReadWriteStream & AsyncIterable<{ key: number; value: unknown }>;
};

const CTX_LISTS = [
  ['positive_ctxs', 'positive'],
  ['negative_ctxs', 'random'],
  ['hard_negative_ctxs', 'hard'],
] as const;

export interface DprJsonIngesterOptions {
  /** Split name for its judgments and negatives. @defaultValue 'default' */
  split?: string;
}

export class DprJsonIngester implements Ingester {
  private readonly split: string;

  constructor(
    private readonly path: string,
    options: DprJsonIngesterOptions = {},
  ) {
    this.split = options.split ?? 'default';
  }

  files(): string[] {
    return [this.path];
  }

  async *events(context: IngestContext): AsyncIterable<IngestEvent[]> {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch (err) {
      throw new IngestError(`cannot read DPR JSON: ${(err as Error).message}`, { file: this.path, cause: err });
    }
    // Plain or gzip; progress in content bytes (the runner's total), scaled from the compressed bytes read.
    const file = openCorpusFile(this.path);
    const content = contentBytes(this.path);
    const scale = size > 0 ? content / size : 1;
    const stream = file.stream.pipe(StreamArray.withParser());
    let lastBytes = 0;
    let records = 0;
    let batch: IngestEvent[] = [];
    try {
      for await (const { key, value } of stream) {
        context.signal?.throwIfAborted();
        records = key + 1;
        this.recordEvents(value, { source: this.path, line: key + 1, position: 'record' }, context, batch);
        if (batch.length >= 1024) {
          const read = Math.round(file.bytesRead() * scale);
          context.onBytes(read - lastBytes);
          lastBytes = read;
          yield batch;
          batch = [];
        }
      }
    } catch (err) {
      if (err instanceof IngestError || (err as Error).name === 'AbortError') throw err;
      const named = file.gzip ? namingGzipFile(this.path, err) : err;
      if (named instanceof IngestError) throw named;
      throw new IngestError(`not a valid JSON array after record ${records}: ${(err as Error).message}`, { file: this.path, line: records + 1, cause: err });
    } finally {
      file.close();
    }
    context.onBytes(content - lastBytes);
    if (batch.length > 0) yield batch;
  }

  private recordEvents(value: unknown, origin: Origin, context: IngestContext, out: IngestEvent[]): void {
    const chars = context.excerptChars;
    const show = () => excerpt(JSON.stringify(value) ?? String(value), chars);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      out.push({ ...origin, type: 'reject', kind: 'query', reason: 'not_an_object', message: 'record is not a JSON object', excerpt: show() });
      return;
    }
    const record = value as Record<string, unknown>;
    const rawId = record.id ?? record.qid;
    const queryId = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : String(origin.line);
    const question = record.question;
    let queryOk = false;
    if (typeof question !== 'string') {
      out.push({
        ...origin,
        type: 'reject',
        kind: 'query',
        reason: question === undefined ? 'missing_field' : 'wrong_type',
        message: 'field "question" must be a string',
        excerpt: show(),
      });
    } else if (question.trim() === '') {
      out.push({ ...origin, type: 'reject', kind: 'query', reason: 'empty_text', message: 'empty question', excerpt: show() });
    } else {
      const extra: Record<string, unknown> = {};
      if (Array.isArray(record.answers)) extra.answers = record.answers;
      if (typeof record.dataset === 'string') extra.dataset = record.dataset;
      out.push({ ...origin, type: 'query', id: queryId, text: question, split: null, extra });
      queryOk = true;
    }
    for (const [listName, role] of CTX_LISTS) {
      const list = record[listName];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        out.push({ ...origin, type: 'reject', kind: 'passage', reason: 'wrong_type', message: `field "${listName}" must be an array`, excerpt: show() });
        continue;
      }
      const seen = new Set<string>();
      for (const [i, ctx] of list.entries()) {
        const passageId = this.ctxEvent(ctx, `${listName}[${i}]`, origin, chars, out);
        if (passageId === null || seen.has(passageId) || !queryOk) continue;
        seen.add(passageId);
        if (role === 'positive') out.push({ ...origin, type: 'qrel', split: this.split, queryId, corpusId: passageId, score: 1 });
        else out.push({ ...origin, type: 'negative', split: this.split, queryId, corpusId: passageId, negativeKind: role });
      }
    }
  }

  /** Emits the ctx as a passage (or a rejection); returns its id when usable. */
  private ctxEvent(ctx: unknown, where: string, origin: Origin, chars: number, out: IngestEvent[]): string | null {
    const show = () => excerpt(JSON.stringify(ctx) ?? String(ctx), chars);
    if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) {
      out.push({ ...origin, type: 'reject', kind: 'passage', reason: 'not_an_object', message: `${where} is not an object`, excerpt: show() });
      return null;
    }
    const c = ctx as Record<string, unknown>;
    const rawId = c.passage_id ?? c.psg_id ?? c.id;
    if (typeof rawId !== 'string' && typeof rawId !== 'number') {
      out.push({ ...origin, type: 'reject', kind: 'passage', reason: 'missing_field', message: `${where} has no passage_id`, excerpt: show() });
      return null;
    }
    if (typeof c.text !== 'string' || (c.title !== undefined && typeof c.title !== 'string')) {
      out.push({
        ...origin,
        type: 'reject',
        kind: 'passage',
        reason: c.text === undefined ? 'missing_field' : 'wrong_type',
        message: `${where}: "text" (and "title") must be strings`,
        excerpt: show(),
      });
      return null;
    }
    const id = String(rawId);
    out.push({ ...origin, type: 'passage', externalId: id, title: (c.title as string | undefined) ?? '', text: c.text, repeatIsReference: true });
    return id;
  }
}
