import { Command } from 'commander';
import { join, resolve } from 'node:path';
import { FsStorage } from '../storage/index.js';
import { readSetManifest, openShardSet, readShardPassages, passageText } from '../shards/index.js';
import { readNegativesFile, readQuerySplit, summarizeNegatives } from '../mine/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { positiveInt } from './parse.js';

/** `sci negatives inspect DIR`: a mine job's output, read through its manifest. */
export function negativesCommand(globals: () => GlobalOptions): Command {
  const negatives = new Command('negatives').description('Mined hard negatives (the output of a mine job)');
  negatives
    .command('inspect')
    .description('Counts per rank bucket and source, what each filter removed, judged positives in the top-K, and examples with text')
    .argument('<dir>', 'a mine job output folder (manifest.json, negatives.arrow)')
    .option('--examples <n>', 'queries to show with their positive and top negatives', positiveInt('--examples'), 3)
    .option('--json', 'print JSON')
    .action(async (dir: string, flags: { examples: number; json?: boolean }) => {
      const { config } = commandContext(globals());
      const storage = new FsStorage(config.storage.root);
      const key = resolve(dir);
      const manifest = await readSetManifest(storage, key, 'negatives');
      const rows = readNegativesFile(join(key, manifest.file.path));
      const summary = summarizeNegatives(rows);
      const account = manifest.account as typeof manifest.account & {
        removed?: Record<string, number>;
        positivesInTopK?: number;
        queriesWithPositiveInTopK?: number;
      };
      // Examples: the first queries of the file, with texts from the passage set.
      const set = openShardSet(manifest.queries.passages);
      const split = readQuerySplit(join(set.dir, set.manifest.queries!.path), join(set.dir, set.manifest.qrels!.splits[manifest.queries.split]!.path));
      const chosen = [...new Set(rows.map((r) => r.queryId))].slice(0, flags.examples);
      const wanted = new Set<string>();
      const queryText = new Map(split.ids.map((id, i) => [id, { text: split.texts[i]!, positives: [...split.positives[i]!] }]));
      for (const id of chosen) {
        queryText.get(id)?.positives.forEach((p) => wanted.add(p));
        rows.filter((r) => r.queryId === id && r.rank <= 3 + (queryText.get(id)?.positives.length ?? 0)).forEach((r) => wanted.add(r.passageId));
      }
      const texts = new Map<string, string>();
      for (const shard of set.manifest.shards)
        for await (const p of readShardPassages(set.dir, shard)) if (wanted.has(p.externalId)) texts.set(p.externalId, passageText(p));
      const examples = chosen.map((id) => ({
        query: id,
        text: queryText.get(id)?.text ?? '',
        positives: (queryText.get(id)?.positives ?? []).map((p) => ({ id: p, text: texts.get(p) ?? '' })),
        negatives: rows
          .filter((r) => r.queryId === id)
          .slice(0, 3)
          .map((r) => ({ rank: r.rank, score: r.score, id: r.passageId, text: texts.get(r.passageId) ?? '' })),
      }));
      const report = {
        manifest: { indexSet: manifest.indexSet, source: manifest.source, k: manifest.k, stage: manifest.stage, checkpoint: manifest.checkpoint },
        account,
        summary,
        examples,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const pct = (n: number, d: number) => (d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '-');
      const out: string[] = [];
      out.push(
        `${key}: ${summary.rows.toLocaleString('en-US')} negatives for ${summary.queries.toLocaleString('en-US')} queries (per query min ${summary.perQuery.min}, mean ${summary.perQuery.mean.toFixed(1)}, max ${summary.perQuery.max})`,
      );
      out.push(
        `queries in ${account.queriesIn} = with negatives ${account.withNegatives} + with none ${account.withNone}${Object.entries(account.noneReasons)
          .map(([r, n]) => `; ${n} ${r}`)
          .join('')}`,
      );
      out.push(
        `judged positives in the top-${manifest.k} (removed, never negatives): ${account.positivesInTopK ?? 0}, for ${pct(account.queriesWithPositiveInTopK ?? 0, account.queriesIn)} of queries`,
      );
      out.push(
        `removed by rule: ${Object.entries(account.removed ?? {})
          .map(([r, n]) => `${r} ${n}`)
          .join(', ')}`,
      );
      out.push('by rank:');
      for (const b of summary.byRank) out.push(`  ${b.bucket.padEnd(8)} ${String(b.rows).padStart(9)}  ${pct(b.rows, summary.rows)}`);
      out.push('by source:');
      for (const s of summary.bySource) out.push(`  ${s.source} (stage ${s.stage}${s.checkpoint ? `, checkpoint ${s.checkpoint}` : ''})  ${s.rows}`);
      for (const e of examples) {
        out.push('', `query ${e.query}: ${e.text}`);
        for (const p of e.positives) out.push(`  + ${p.id}: ${p.text.slice(0, 120)}`);
        for (const n of e.negatives) out.push(`  - rank ${n.rank} (${n.score.toFixed(4)}) ${n.id}: ${n.text.slice(0, 120)}`);
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });
  return negatives;
}
