import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData } from 'hyparquet';
import { IngestError } from '../errors.js';
import { qrelsEvents } from './beir.js';
import { passageRecord, qrelRecord, queryRecord } from './records.js';
import type { IngestContext, IngestEvent, Ingester, Origin } from './types.js';

/*
 * Parquet, as the Hugging Face datasets layout ships BEIR-style sets: a
 * folder with the corpus (`_id` or `id`, `title`, `text`), queries (`_id` or
 * `id`, `text`) and judgments (`query-id`, `corpus-id`, `score`), each as
 * `<name>.parquet`, or as the Parquet files of a `<name>/` folder (shards
 * `…-00000-of-00003.parquet` in order); judgments may be `qrels/<split>.parquet`
 * (or .tsv). A single .parquet file is a corpus. Read one row group at a time
 * and only the columns named, so memory follows the row group, not the file.
 * Rows are numbered from 1 in each file (the rejection log's "line").
 */

const ID_FIELDS = ['_id', 'id'] as const;
const BATCH = 1024;

export class ParquetIngester implements Ingester {
  private readonly corpus: string[];
  private readonly queries: string[];
  private readonly qrels: Array<{ split: string; path: string }>;

  constructor(input: string) {
    if (!existsSync(input)) throw new IngestError('no such file or folder', { file: input });
    if (statSync(input).isFile()) {
      this.corpus = [input];
      this.queries = [];
      this.qrels = [];
      return;
    }
    this.corpus = parquetFilesOf(input, 'corpus');
    if (this.corpus.length === 0) throw new IngestError('no corpus.parquet or corpus/*.parquet in the folder', { file: input });
    this.queries = parquetFilesOf(input, 'queries');
    this.qrels = [];
    const single = join(input, 'qrels.parquet');
    if (existsSync(single)) this.qrels.push({ split: 'default', path: single });
    const dir = join(input, 'qrels');
    if (existsSync(dir) && statSync(dir).isDirectory())
      for (const name of readdirSync(dir)
        .filter((n) => /\.(parquet|tsv)$/.test(n))
        .sort())
        this.qrels.push({ split: name.replace(/(-\d+-of-\d+)?\.(parquet|tsv)$/, ''), path: join(dir, name) });
    if (this.qrels.length > 0 && this.queries.length === 0) throw new IngestError('the folder has judgments but no queries', { file: input });
  }

  files(): string[] {
    return [...this.corpus, ...this.queries, ...this.qrels.map((q) => q.path)];
  }

  async *events(context: IngestContext): AsyncIterable<IngestEvent[]> {
    const chars = context.excerptChars;
    for (const path of this.corpus)
      yield* rowsOf(path, [...ID_FIELDS, 'title', 'text'], context, (row, origin, out) => passageRecord(row, ID_FIELDS, origin, show(row), chars, out));
    for (const path of this.queries) yield* rowsOf(path, null, context, (row, origin, out) => queryRecord(row, ID_FIELDS, origin, show(row), chars, out));
    for (const { split, path } of this.qrels) {
      if (path.endsWith('.tsv')) yield* qrelsEvents(path, split, context);
      else yield* rowsOf(path, ['query-id', 'corpus-id', 'score'], context, (row, origin, out) => qrelRecord(row, split, origin, show(row), chars, out));
    }
  }
}

/** `<dir>/<name>.parquet`, or the .parquet files of `<dir>/<name>/` in name order. */
function parquetFilesOf(dir: string, name: string): string[] {
  const file = join(dir, `${name}.parquet`);
  if (existsSync(file)) return [file];
  const sub = join(dir, name);
  if (!existsSync(sub) || !statSync(sub).isDirectory()) return [];
  return readdirSync(sub)
    .filter((n) => n.endsWith('.parquet'))
    .sort()
    .map((n) => join(sub, n));
}

/** Every row of a Parquet file (only `columns` that exist, or all), a row group at a time, as ingest events. */
async function* rowsOf(
  path: string,
  columns: readonly string[] | null,
  context: IngestContext,
  parse: (row: Record<string, unknown>, origin: Origin, out: IngestEvent[]) => void,
): AsyncGenerator<IngestEvent[]> {
  let metadata: FileMetaData;
  const file = await asyncBufferFromFile(path).catch((err: unknown) => {
    throw new IngestError(`cannot open Parquet file: ${(err as Error).message}`, { file: path, cause: err });
  });
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new IngestError(`not a Parquet file: ${(err as Error).message}`, { file: path, cause: err });
  }
  const present = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
  const wanted = columns ? columns.filter((c) => present.has(c)) : undefined;
  const size = statSync(path).size;
  let reported = 0;
  let first = 0;
  for (const group of metadata.row_groups) {
    context.signal?.throwIfAborted();
    const rows = Number(group.num_rows);
    let objects: Array<Record<string, unknown>>;
    try {
      objects = await parquetReadObjects({ file, metadata, rowStart: first, rowEnd: first + rows, ...(wanted ? { columns: wanted } : {}) });
    } catch (err) {
      throw new IngestError(`cannot read rows ${first + 1}–${first + rows}: ${(err as Error).message}`, { file: path, line: first + 1, cause: err });
    }
    let out: IngestEvent[] = [];
    for (let i = 0; i < objects.length; i++) {
      parse(objects[i]!, { source: path, line: first + i + 1, position: 'record' }, out);
      if (out.length >= BATCH) {
        yield out;
        out = [];
      }
    }
    // Progress in file bytes: the row group's compressed share.
    const done = Math.min(size, reported + group.columns.reduce((sum, c) => sum + Number(c.meta_data?.total_compressed_size ?? 0), 0));
    context.onBytes(done - reported);
    reported = done;
    if (out.length > 0) yield out;
    first += rows;
  }
  context.onBytes(size - reported);
}

/** A row as JSON for excerpts (Parquet INT64 values are bigints). */
function show(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}
