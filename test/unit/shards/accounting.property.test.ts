import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { BeirIngester, runIngest, verifyShardSet } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { allPassages, rejectedRows } from '../../support/shards.js';

/*
 * Property: for any mix of good and bad corpus lines, rowsIn = rowsWritten +
 * rowsRejected, the rows written are exactly the first occurrences of the
 * good ids in input order, and every rejection names a real line.
 */

type Line = { kind: 'good'; id: string; text: string } | { kind: 'bad'; bytes: Buffer } | { kind: 'blank' };

const idArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
const lineArb: fc.Arbitrary<Line> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('good' as const), id: idArb, text: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '') }),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constant(Buffer.from('{not json')),
        fc.constant(Buffer.from('"a string"')),
        fc.constant(Buffer.from('{"_id": "z"}')),
        fc.constant(Buffer.from('{"text": "no id"}')),
        fc.constant(Buffer.from([0x7b, 0xff, 0x7d])),
        fc.constant(Buffer.from(`{"_id": "long", "text": "${'x'.repeat(300)}"}`)),
        fc.constant(Buffer.from('{"_id": "w", "text": ["wrong type"]}')),
      )
      .map((bytes) => ({ kind: 'bad' as const, bytes })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'blank' as const }) },
);

test('accounting invariant over random good and bad input', async (t) => {
  const root = tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(lineArb, { maxLength: 40 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), async (lines, n, byCount) => {
      const dir = join(root, String(run++));
      mkdirSync(join(dir, 'in'), { recursive: true });
      const bytes = lines.map((l) =>
        l.kind === 'good' ? Buffer.from(JSON.stringify({ _id: l.id, text: l.text })) : l.kind === 'bad' ? l.bytes : Buffer.alloc(0),
      );
      writeFileSync(join(dir, 'in', 'corpus.jsonl'), Buffer.concat(bytes.flatMap((b) => [b, Buffer.from('\n')])));
      const out = join(dir, 'out');
      const layout = byCount ? { shardCount: n } : { rowsPerShard: n };
      const { manifest } = await runIngest({
        ingester: new BeirIngester(join(dir, 'in')),
        format: 'beir',
        input: join(dir, 'in'),
        outDir: out,
        layout,
        batchRows: 2,
        maxLineBytes: 200,
        excerptChars: 20,
        strict: false,
      });

      const rowLines = lines.filter((l) => l.kind !== 'blank').length;
      assert.equal(manifest.rowsIn, rowLines);
      assert.equal(manifest.rowsIn, manifest.rowsWritten + manifest.rowsRejected);
      const firstSeen: string[] = [];
      for (const l of lines) if (l.kind === 'good' && !firstSeen.includes(l.id)) firstSeen.push(l.id);
      const passages = await allPassages(out, manifest);
      assert.deepEqual(
        passages.map((p) => p.externalId),
        firstSeen,
      );
      assert.deepEqual(
        passages.map((p) => p.rowId),
        firstSeen.map((_, i) => i),
      );
      const rejected = rejectedRows(out, manifest);
      assert.equal(rejected.length, manifest.rowsRejected);
      for (const r of rejected) assert.notEqual(lines[r.line - 1]?.kind, undefined);
      await verifyShardSet(out);
    }),
    { numRuns: 60, seed: 20261122 },
  );
});
