import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { BeirIngester, IngestError, ParquetIngester, runIngest, type Ingester } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { allPassages, rejectedRows, TEST_INGEST } from '../../support/shards.js';

/*
 * The Hugging Face datasets layout in Parquet (written here with
 * hyparquet-writer, several row groups and corpus shards) ingests to the same
 * shard set as the same data in BEIR's JSONL layout; bad rows are rejected by
 * row number and field; a file that is not Parquet fails naming it.
 */

interface Doc {
  _id: string;
  title: string | null;
  text: string | null;
}

async function ingest(ingester: Ingester, input: string, outDir: string) {
  const { manifest } = await runIngest({ ingester, format: 'parquet', input, outDir, layout: { shardCount: 2 }, ...TEST_INGEST });
  return {
    counts: [manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected],
    passages: (await allPassages(outDir, manifest)).map((p) => [p.externalId, p.title, p.text]),
    rejected: rejectedRows(outDir, manifest).map((r) => [r.line, r.reason, r.message]),
    queries: manifest.queries ? readFileSync(join(outDir, manifest.queries.path), 'utf8') : null,
    qrels: Object.keys(manifest.qrels?.splits ?? {}),
  };
}

const docs: Doc[] = Array.from({ length: 130 }, (_, i) => ({
  _id: `d${i}`,
  title: i % 10 === 0 ? null : `Title ${i}`,
  text: `document ${i} über ${'x'.repeat(i % 13)}`,
}));
const queries = Array.from({ length: 20 }, (_, i) => ({ _id: `q${i}`, text: `query ${i}` }));
const qrels = queries.map((q, i) => ({ 'query-id': q._id, 'corpus-id': `d${i * 5}`, score: 1 }));

function strings(name: string, values: Array<string | null>) {
  return { name, data: values, type: 'STRING' as const, nullable: true };
}

test('a Hugging Face Parquet folder (sharded corpus, row groups, qrels/<split>.parquet) ingests like the BEIR JSONL folder', async (t) => {
  const dir = tempDir(t);
  const hf = join(dir, 'hf');
  mkdirSync(join(hf, 'corpus'), { recursive: true });
  mkdirSync(join(hf, 'qrels'), { recursive: true });
  const halves = [docs.slice(0, 70), docs.slice(70)];
  halves.forEach((part, i) =>
    parquetWriteFile({
      filename: join(hf, 'corpus', `corpus-0000${i}-of-00002.parquet`),
      columnData: [
        strings(
          '_id',
          part.map((d) => d._id),
        ),
        strings(
          'title',
          part.map((d) => d.title),
        ),
        strings(
          'text',
          part.map((d) => d.text),
        ),
      ],
      rowGroupSize: 25,
    }),
  );
  parquetWriteFile({
    filename: join(hf, 'queries.parquet'),
    columnData: [
      strings(
        '_id',
        queries.map((q) => q._id),
      ),
      strings(
        'text',
        queries.map((q) => q.text),
      ),
    ],
  });
  parquetWriteFile({
    filename: join(hf, 'qrels', 'test.parquet'),
    columnData: [
      strings(
        'query-id',
        qrels.map((q) => q['query-id']),
      ),
      strings(
        'corpus-id',
        qrels.map((q) => q['corpus-id']),
      ),
      { name: 'score', data: qrels.map((q) => q.score), type: 'INT32' as const },
    ],
  });
  const beir = join(dir, 'beir');
  mkdirSync(join(beir, 'qrels'), { recursive: true });
  writeFileSync(join(beir, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
  writeFileSync(join(beir, 'queries.jsonl'), queries.map((q) => JSON.stringify(q)).join('\n'));
  writeFileSync(join(beir, 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${qrels.map((q) => `${q['query-id']}\t${q['corpus-id']}\t1`).join('\n')}\n`);

  const fromParquet = await ingest(new ParquetIngester(hf), hf, join(dir, 'out-parquet'));
  const fromJsonl = await ingest(new BeirIngester(beir), beir, join(dir, 'out-beir'));
  assert.deepEqual(fromParquet.counts, [130, 130, 0]);
  assert.deepEqual(fromParquet.passages, fromJsonl.passages);
  assert.equal(fromParquet.queries, fromJsonl.queries);
  assert.deepEqual(fromParquet.qrels, ['test']);
});

test('bad Parquet rows are rejected by row number and field; INT64 ids are ids; a non-Parquet file fails naming it', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'corpus.parquet');
  parquetWriteFile({
    filename: file,
    columnData: [
      { name: 'id', data: [1n, 2n, 3n, 4n], type: 'INT64' as const },
      strings('title', ['A', null, 'C', 'D']),
      strings('text', ['first', null, 'third', 'fourth']),
    ],
    rowGroupSize: 2,
  });
  const result = await ingest(new ParquetIngester(file), file, join(dir, 'out'));
  assert.deepEqual(result.counts, [4, 3, 1]);
  assert.deepEqual(
    result.passages.map((p) => p[0]),
    ['1', '3', '4'],
  );
  assert.deepEqual(result.rejected, [[2, 'missing_field', 'missing field "text"']]);

  const notParquet = join(dir, 'notes.parquet');
  writeFileSync(notParquet, 'just text, long enough to look for a footer in it');
  await assert.rejects(
    ingest(new ParquetIngester(notParquet), notParquet, join(dir, 'out2')),
    (err: Error) => err instanceof IngestError && err.file === notParquet && /not a Parquet file/.test(err.message),
  );
});
