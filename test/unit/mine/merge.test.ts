import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaissIndex } from '../../../faiss/index.js';
import {
  CandidatesWriter,
  denseCandidates,
  denseScore,
  mergeCandidates,
  NegativeFilterSchema,
  NegativesWriter,
  openCandidates,
  readNegativesFile,
} from '../../../mine/index.js';
import { clusteredVectors } from '../../support/vectors.js';
import { tempDir } from '../../support/paths.js';

/*
 * The mining path in one process, on real Faiss indexes and real Arrow
 * files: per-shard Flat candidates written and read back, merged into a
 * negatives file that equals a global Flat index's top-K minus the judged
 * positives, with the account adding up.
 */

const DIM = 16;
const N = 4000;
const SHARDS = 4;
const K = 20;

test('per-shard Flat candidates merged equal one global Flat top-K, positives removed, every row with provenance', async (t) => {
  const dir = tempDir(t);
  const x = clusteredVectors(N, DIM, 40, 9, true);
  const queries = clusteredVectors(60, DIM, 40, 10, true);
  const nq = 60;
  const ids = BigInt64Array.from({ length: N }, (_, i) => BigInt(i));
  const name = (rowId: number) => `p-${rowId}`;
  // Query q's judged positive: the global nearest row for even q (so it must be removed), a far row for odd q.
  const global = FaissIndex.create({ dim: DIM, factory: 'Flat', metric: 'ip' });
  await global.add(x, ids);
  const exact = await global.search(queries, K + 1);
  const positiveRows = Array.from({ length: nq }, (_, q) => new Set([q % 2 === 0 ? Number(exact.labels[q * (K + 1)]!) : (q * 37) % N]));
  positiveRows[7] = new Set(); // a query whose positive is not in the corpus: no negatives, with that reason
  const positives = positiveRows.map((rows) => new Set([...rows].map(name)));

  const per = N / SHARDS;
  const files: string[] = [];
  for (let s = 0; s < SHARDS; s++) {
    const index = FaissIndex.create({ dim: DIM, factory: 'Flat', metric: 'ip' });
    const part = x.subarray(s * per * DIM, (s + 1) * per * DIM);
    await index.add(part, ids.subarray(s * per, (s + 1) * per));
    const positiveScores = new Float32Array(nq).fill(Number.NaN);
    for (let q = 0; q < nq; q++) {
      for (const row of positiveRows[q]!) {
        if (row >= s * per && row < (s + 1) * per)
          positiveScores[q] = denseScore(queries.subarray(q * DIM, (q + 1) * DIM), x.subarray(row * DIM, (row + 1) * DIM), 'ip');
      }
    }
    const file = join(dir, `candidates-${s}.arrow`);
    const writer = new CandidatesWriter(file, { shard: s, higherIsBetter: true, queries: nq });
    for await (const batch of denseCandidates(index, queries, DIM, K, s, name)) writer.add(batch, positiveScores);
    writer.commit();
    files.push(file);
  }
  const shards = await Promise.all(files.map((f) => openCandidates(f)));
  const out = join(dir, 'negatives.arrow');
  const writer = new NegativesWriter(out);
  const provenance = { stage: 'dense-round-1', source: 'dense:flat', checkpoint: 'model/step-100', step: 100 };
  const account = await mergeCandidates(
    shards,
    { ids: Array.from({ length: nq }, (_, q) => `q${q}`), positives },
    K,
    NegativeFilterSchema.parse({}),
    provenance,
    writer,
  );
  writer.commit();
  await Promise.all(shards.map((s) => s.close()));

  assert.equal(account.queriesIn, nq);
  assert.equal(account.withNegatives + account.withNone, nq);
  assert.deepEqual(account.noneReasons, { 'no judged positive in the corpus': 1 });
  assert.ok(account.queriesWithPositiveInTopK >= 30, 'every even query had its positive at rank 1');
  const rows = readNegativesFile(out);
  assert.equal(rows.length, account.rows);
  for (let q = 0; q < nq; q++) {
    const mine = rows.filter((r) => r.queryId === `q${q}`);
    if (q === 7) {
      assert.equal(mine.length, 0);
      continue;
    }
    const expected: number[] = [];
    for (let j = 0; j < K; j++) {
      const row = Number(exact.labels[q * (K + 1) + j]!);
      if (!positiveRows[q]!.has(row)) expected.push(row);
    }
    assert.deepEqual(
      mine.map((r) => r.rowId),
      expected,
      `query ${q}`,
    );
    for (const r of mine) {
      assert.equal(r.passageId, name(r.rowId));
      assert.equal(r.shard, Math.floor(r.rowId / per));
      assert.deepEqual([r.stage, r.source, r.checkpoint, r.step], ['dense-round-1', 'dense:flat', 'model/step-100', 100]);
      assert.ok(r.positiveScore !== null && Number.isFinite(r.positiveScore), 'the positive score travels with every row');
    }
  }
});
