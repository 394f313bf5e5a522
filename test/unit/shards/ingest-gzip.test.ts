import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BeirIngester, DprJsonIngester, IngestError, runIngest, TsvIngester, type Ingester } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { allPassages, rejectedRows, TEST_INGEST } from '../../support/shards.js';

/*
 * Gzip-compressed corpora ingest exactly like their plain form (same rows,
 * same rejections with the same line numbers), decompressed as a stream; a
 * corrupt or truncated gzip file fails naming the file.
 */

async function ingest(ingester: Ingester, input: string, outDir: string) {
  const { manifest } = await runIngest({ ingester, format: 'tsv', input, outDir, layout: { shardCount: 2 }, ...TEST_INGEST });
  return {
    counts: [manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected],
    passages: (await allPassages(outDir, manifest)).map((p) => [p.externalId, p.title, p.text]),
    rejected: rejectedRows(outDir, manifest).map((r) => [r.line, r.reason]),
    queries: manifest.queries ? readFileSync(join(outDir, manifest.queries.path), 'utf8') : null,
  };
}

const gzipCopy = (path: string) => {
  writeFileSync(`${path}.gz`, gzipSync(readFileSync(path)));
  return `${path}.gz`;
};

test('TSV and DPR JSON: a .gz file gives the same rows and rejections as the plain one', async (t) => {
  const dir = tempDir(t);
  const tsv = join(dir, 'psgs.tsv');
  const lines = [
    'id\ttext\ttitle',
    ...Array.from({ length: 500 }, (_, i) => (i % 97 === 5 ? `${i}\tonly two` : `${i}\tpassage ${i} about ${'dogs '.repeat(i % 7)}\tT${i}`)),
  ];
  writeFileSync(tsv, `${lines.join('\n')}\n`);
  const plain = await ingest(new TsvIngester(tsv), tsv, join(dir, 'plain'));
  const packed = await ingest(new TsvIngester(gzipCopy(tsv)), `${tsv}.gz`, join(dir, 'gz'));
  assert.deepEqual(packed, plain);
  assert.deepEqual(plain.counts, [500, 494, 6]);
  assert.ok(plain.rejected.every(([, reason]) => reason === 'wrong_field_count'));

  const json = join(dir, 'nq-dev.json');
  writeFileSync(
    json,
    JSON.stringify(
      Array.from({ length: 40 }, (_, i) => ({
        question: i === 3 ? '' : `who wrote book ${i}`,
        answers: [`author ${i}`],
        positive_ctxs: [{ passage_id: `p${i}`, title: `Book ${i}`, text: `book ${i} was written by author ${i}` }],
        hard_negative_ctxs: [{ passage_id: `n${i}`, title: `Other ${i}`, text: `another text ${i}` }],
      })),
    ),
  );
  const dprPlain = await ingest(new DprJsonIngester(json), json, join(dir, 'dpr-plain'));
  const dprPacked = await ingest(new DprJsonIngester(gzipCopy(json)), `${json}.gz`, join(dir, 'dpr-gz'));
  assert.deepEqual(dprPacked, dprPlain);
  assert.ok(dprPlain.counts[1]! > 0 && dprPlain.queries !== null);
});

test('a BEIR / Hugging Face folder of .jsonl.gz and .tsv.gz files ingests like the plain folder', async (t) => {
  const dir = tempDir(t);
  const folder = (name: string) => {
    const f = join(dir, name);
    mkdirSync(join(f, 'qrels'), { recursive: true });
    writeFileSync(
      join(f, 'corpus.jsonl'),
      Array.from({ length: 60 }, (_, i) => JSON.stringify({ _id: `d${i}`, title: `T${i}`, text: `document ${i}` })).join('\n'),
    );
    writeFileSync(join(f, 'queries.jsonl'), Array.from({ length: 10 }, (_, i) => JSON.stringify({ _id: `q${i}`, text: `query ${i}` })).join('\n'));
    writeFileSync(join(f, 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${Array.from({ length: 10 }, (_, i) => `q${i}\td${i * 3}\t1`).join('\n')}\n`);
    return f;
  };
  const plainDir = folder('plain');
  const gzDir = folder('gz');
  // Only the .gz files: the plain names are gone.
  for (const file of ['corpus.jsonl', 'queries.jsonl', join('qrels', 'test.tsv')]) {
    gzipCopy(join(gzDir, file));
    rmSync(join(gzDir, file));
  }
  const plain = await ingest(new BeirIngester(plainDir), plainDir, join(dir, 'out-plain'));
  const packed = await ingest(new BeirIngester(gzDir), gzDir, join(dir, 'out-gz'));
  assert.deepEqual(packed, plain);
  assert.deepEqual(plain.counts, [60, 60, 0]);
});

test('a corrupt or truncated gzip file fails with an IngestError naming it', async (t) => {
  const dir = tempDir(t);
  const tsv = join(dir, 'psgs.tsv');
  writeFileSync(tsv, `id\ttext\ttitle\n${Array.from({ length: 5000 }, (_, i) => `${i}\ttext ${i} ${Math.sin(i)}\tT`).join('\n')}\n`);
  const packed = gzipSync(readFileSync(tsv));
  const cases: Array<[string, Buffer]> = [
    ['truncated.tsv.gz', packed.subarray(0, Math.floor(packed.length / 2))],
    ['corrupt.tsv.gz', Buffer.concat([packed.subarray(0, 200), Buffer.alloc(300, 0x55), packed.subarray(500)])],
  ];
  for (const [name, bytes] of cases) {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    await assert.rejects(
      ingest(new TsvIngester(file), file, join(dir, `out-${name}`)),
      (err: Error) => err instanceof IngestError && err.file === file && /cannot decompress gzip/.test(err.message),
      name,
    );
  }
});
