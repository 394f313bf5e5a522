import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaissIndex } from '../../../faiss/index.js';
import {
  CandidatesWriter,
  concatNegativesFiles,
  denseCandidates,
  mergeCandidates,
  mergePartRange,
  MineInputError,
  NegativeFilterSchema,
  NegativesWriter,
  openCandidates,
  QUERY_BATCH,
  readCandidates,
  readNegativesFile,
  selectNegatives,
  sumAccounts,
  type MineAccount,
} from '../../../mine/index.js';
import { sha256 } from '../../../storage/index.js';
import { clusteredVectors } from '../../support/vectors.js';
import { tempDir } from '../../support/paths.js';

/*
 * The merge split by query range: every part reads its own batches of every
 * shard's candidates (through the files' footers), and the parts joined are
 * the single merge's negatives file byte for byte, with the same account —
 * for every number of parts, including more parts than batches of queries.
 */

const DIM = 16;
const N = 3000;
const SHARDS = 3;
const K = 8;
const NQ = 3 * QUERY_BATCH + 300; // four batches, the last one short

test('merge parts cover the split in whole batches of queries, contiguous and in order', () => {
  for (const queries of [0, 1, QUERY_BATCH, NQ, 40 * QUERY_BATCH + 7]) {
    for (const parts of [1, 2, 3, 4, 7, 64]) {
      let at = 0;
      for (let p = 0; p < parts; p++) {
        const r = mergePartRange(p, parts, queries);
        assert.equal(r.from, at, `${queries} queries, part ${p} of ${parts}`);
        assert.ok(r.to >= r.from);
        assert.ok(r.from % QUERY_BATCH === 0 || r.from === queries, 'a part begins where a batch does');
        at = r.to;
      }
      assert.equal(at, queries, `${parts} parts cover ${queries} queries`);
    }
  }
  assert.throws(() => mergePartRange(2, 2, 10), /merge part 2 of 2/);
});

test('a split merge joined is the single merge byte for byte, its accounts summed to the single account (1, 2, 3, 4 and 6 parts)', async (t) => {
  const dir = tempDir(t);
  const x = clusteredVectors(N, DIM, 30, 21, true);
  const queries = clusteredVectors(NQ, DIM, 30, 22, true);
  const ids = BigInt64Array.from({ length: N }, (_, i) => BigInt(i));
  const name = (rowId: number) => `p-${rowId}`;
  // Positives: a near row for some queries (removed from the negatives), none in the corpus for every 97th (a reason).
  const positives = Array.from({ length: NQ }, (_, q) => (q % 97 === 5 ? new Set<string>() : new Set([name((q * 31) % N)])));
  const per = N / SHARDS;
  const files: string[] = [];
  for (let s = 0; s < SHARDS; s++) {
    const index = FaissIndex.create({ dim: DIM, factory: 'Flat', metric: 'ip' });
    await index.add(x.subarray(s * per * DIM, (s + 1) * per * DIM), ids.subarray(s * per, (s + 1) * per));
    const file = join(dir, `candidates-${s}.arrow`);
    const writer = new CandidatesWriter(file, { shard: s, higherIsBetter: true, queries: NQ });
    for await (const batch of denseCandidates(index, queries, DIM, K, s, name)) writer.add(batch, new Float32Array(NQ).fill(Number.NaN));
    writer.commit();
    files.push(file);
  }
  const split = { ids: Array.from({ length: NQ }, (_, q) => `q${q}`), positives };
  const provenance = { stage: 'dense-round-1', source: 'dense:flat', checkpoint: 'model/step-7', step: 7 };
  const filter = NegativeFilterSchema.parse({});

  const mergeInParts = async (parts: number) => {
    const partFiles: string[] = [];
    const accounts: MineAccount[] = [];
    for (let p = 0; p < parts; p++) {
      const range = mergePartRange(p, parts, NQ);
      const shards = await Promise.all(files.map((f) => openCandidates(f, range.from)));
      const file = join(dir, `parts-${parts}-${p}.arrow`);
      const writer = new NegativesWriter(file);
      accounts.push(await mergeCandidates(shards, split, K, filter, provenance, writer, range));
      writer.commit();
      await Promise.all(shards.map((s) => s.close()));
      partFiles.push(file);
    }
    const out = join(dir, `joined-${parts}.arrow`);
    concatNegativesFiles(partFiles, out);
    return { out, account: sumAccounts(accounts) };
  };

  const single = await mergeInParts(1);
  const singleRows = readNegativesFile(single.out);
  assert.equal(singleRows.length, single.account.rows);
  assert.equal(single.account.queriesIn, NQ);
  assert.ok(single.account.removed.positive > 0, 'some positives were in the top-K and removed');
  assert.equal(single.account.noneReasons['no judged positive in the corpus'], Math.ceil((NQ - 5) / 97));
  const expected = (await sha256(single.out)).sha256;
  for (const parts of [2, 3, 4, 6]) {
    const split = await mergeInParts(parts);
    assert.equal((await sha256(split.out)).sha256, expected, `${parts} parts: the same bytes as one`);
    assert.equal(JSON.stringify(split.account), JSON.stringify(single.account), `${parts} parts: the same account, keys in the same order`);
  }
  // And the same rows as the merge without parts at all (the writer's own path, no concat).
  const direct = join(dir, 'direct.arrow');
  const shards = await Promise.all(files.map((f) => openCandidates(f)));
  const writer = new NegativesWriter(direct);
  await mergeCandidates(shards, split, K, filter, provenance, writer);
  writer.commit();
  await Promise.all(shards.map((s) => s.close()));
  assert.ok(readFileSync(direct).equals(readFileSync(single.out)), 'one part joined = the merge written directly');
  // The columnar merge picks what the router's mergeTopK picks over the decoded lists, ties included.
  const lists = files.map((f) => readCandidates(f));
  const rows = readNegativesFile(direct);
  let at = 0;
  for (let q = 0; q < NQ; q++) {
    if (positives[q]!.size === 0) continue;
    const expected = selectNegatives(
      q,
      lists.map((c) => c.lists[q]!),
      K,
      true,
      positives[q]!,
      null,
      filter,
    ).negatives;
    const got = rows.slice(at, at + expected.length);
    at += expected.length;
    assert.deepEqual(
      got.map((r) => [r.queryId, r.rowId, r.passageId, r.rank, r.score, r.shard]),
      expected.map((n) => [`q${q}`, n.rowId, n.externalId, n.rank, n.score, n.shard]),
      `query ${q}`,
    );
  }
  assert.equal(at, rows.length);
});

test('a part that does not begin where a batch of queries does is refused, naming the file', async (t) => {
  const dir = tempDir(t);
  const x = clusteredVectors(200, DIM, 4, 3, true);
  const index = FaissIndex.create({ dim: DIM, factory: 'Flat', metric: 'ip' });
  await index.add(
    x,
    BigInt64Array.from({ length: 200 }, (_, i) => BigInt(i)),
  );
  const nq = QUERY_BATCH + 10;
  const file = join(dir, 'candidates.arrow');
  const writer = new CandidatesWriter(file, { shard: 0, higherIsBetter: true, queries: nq });
  for await (const batch of denseCandidates(index, clusteredVectors(nq, DIM, 4, 4, true), DIM, 3, 0, String))
    writer.add(batch, new Float32Array(nq).fill(Number.NaN));
  writer.commit();
  await assert.rejects(
    openCandidates(file, 5),
    (err: unknown) => err instanceof MineInputError && /candidates\.arrow: no record batch starts at query 5/.test(err.message),
  );
  const tail = await openCandidates(file, QUERY_BATCH);
  const first = await tail.batches.next();
  assert.equal(first.done, false);
  assert.equal(first.value!.start, QUERY_BATCH);
  assert.equal(first.value!.queries, 10);
  assert.equal((await tail.batches.next()).done, true);
  await tail.close();
  const end = await openCandidates(file, nq);
  assert.equal((await end.batches.next()).done, true, 'the end of the split: an empty part');
  await end.close();
  // A negatives part that is not one is refused by the concat.
  const stray = join(dir, 'stray.arrow');
  writeFileSync(stray, readFileSync(file));
  assert.throws(() => concatNegativesFiles([stray], join(dir, 'out.arrow')), /stray\.arrow is not a negatives file/);
});
