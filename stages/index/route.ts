import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FaissIndex, parseIvfFactory, placeLists, setFaissThreads } from '../../faiss/index.js';
import { FatalTaskError, JobError } from '../../jobs/index.js';
import { readIdColumns, readSetManifest, verifiedFile } from '../../shards/index.js';
import { readJsonFile } from '../../storage/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { indexSetKeys, quantizerSpec, trainedFiles } from './keys.js';
import { saveServingPart } from './partition-ids.js';

/*
 * Routed IVF (the index job's `routed` option), one task per serving
 * partition after the shards' indexes: the lists of every shard's IVF index
 * (all built on the job's shared quantizer) are placed on partitions by list
 * id, balanced by list size (faiss/list-placement.ts), and this partition's
 * lists are gathered from every shard into one index: the trained, empty
 * index filled with their codes and ids. Beside it, the external id of each
 * row it holds (sorted by row id), since its rows come from many shards.
 */

/** Routed IVF: one serving partition's lists gathered from every shard's index. */
export interface RouteTask extends PoolTask {
  stage: 'route';
  partition: number;
  partitions: number;
  /** The IVF indexes routed: each with its trained, empty index (the shared quantizer). */
  indexes: Array<{ name: string; trained: string }>;
  /** Per shard: its index file and list sizes (JSON) of each routed index, and its embedding shard (for the rows' external ids). */
  shards: Array<{ shardId: number; indexFiles: Record<string, string>; listSizeFiles: Record<string, string>; embeddingFile: string }>;
  workDir: string;
}

/** The external ids of `wanted` (row ids, any order) from one embedding shard's id columns. */
function externalIdsOf(embeddingFile: string, wanted: BigInt64Array): Map<bigint, string> {
  const want = new Set(wanted);
  const { rowIds, externalIds } = readIdColumns(embeddingFile);
  const out = new Map<bigint, string>();
  rowIds.forEach((row, i) => want.has(row) && out.set(row, externalIds[i]!));
  return out;
}

async function runRoute(task: RouteTask, cancel?: TaskCancel): Promise<PoolResult> {
  setFaissThreads(1);
  const files: PoolResult['files'] = [];
  let rowsIn = 0;
  let rowsWritten = 0;
  for (const spec of task.indexes) {
    const started = performance.now();
    // The placement from every shard's list sizes (the index stage wrote them): each partition's task computes the same one.
    let sizes: number[] | null = null;
    for (const shard of task.shards) {
      const own = readJsonFile(shard.listSizeFiles[spec.name]!, z.array(z.number().int().nonnegative()).max(1 << 20));
      sizes ??= new Array<number>(own.length).fill(0);
      if (own.length !== sizes.length) throw new FatalTaskError(`shard ${shard.shardId}'s ${spec.name} has ${own.length} lists, not ${sizes.length}`);
      own.forEach((n, l) => (sizes![l]! += n));
    }
    const placement = placeLists(sizes ?? [], task.partitions);
    rowsIn += placement.load.reduce((a, b) => a + b, 0);
    const mine = BigInt64Array.from(placement.owner.flatMap((p, l) => (p === task.partition ? [BigInt(l)] : [])));

    // This partition's lists from every shard, and the external ids of their rows.
    const part = await FaissIndex.load(spec.trained);
    if (part.size !== 0) throw new FatalTaskError(`the trained ${spec.name} index is not empty (${part.size} rows)`);
    const rows: bigint[] = [];
    const externalIds: string[] = [];
    for (const shard of task.shards) {
      cancel?.throwIfCancelled();
      const index = await FaissIndex.load(shard.indexFiles[spec.name]!);
      const ids = index.listIds(mine);
      await part.copyListsFrom(index, mine);
      const ofShard = externalIdsOf(shard.embeddingFile, ids);
      for (const row of ids) {
        const id = ofShard.get(row);
        if (id === undefined) throw new FatalTaskError(`row ${row} of ${spec.name} has no external id in its embedding shard`);
        rows.push(row);
        externalIds.push(id);
      }
      task.progress?.postMessage({ rows: rows.length, total: placement.load[task.partition]! });
    }
    if (part.size !== placement.load[task.partition])
      throw new Error(`partition ${task.partition} of ${spec.name} holds ${part.size} rows, placed ${placement.load[task.partition]}`);
    rowsWritten += rows.length;

    files.push(...(await saveServingPart(task.workDir, spec.name, part, rows, externalIds, performance.now() - started)));
    const placementPath = join(task.workDir, `${spec.name}.placement.json`);
    writeFileSync(placementPath, `${JSON.stringify({ index: spec.name, nlist: placement.owner.length, ...placement })}\n`);
    files.push({ path: placementPath, role: `placement:${spec.name}`, name: `${spec.name}.placement.json` });
  }
  return { rowsIn, rowsWritten, rowsRejected: 0, files };
}

export const routeStage = defineStage<'index', RouteTask>({
  name: 'route',
  job: 'index',
  runsIn: (spec) => spec.routed !== null,
  async shardIds(_storage, spec) {
    if (!spec.routed) throw new JobError('a route stage needs the job’s routed option', { field: 'routed' });
    return Array.from({ length: spec.routed.partitions }, (_, p) => p);
  },
  // The partition's task over every shard's index of each routed index (the IVF ones this job trained).
  async prepare({ storage, task, spec: given, work }) {
    const spec = quantizerSpec(given, 'route');
    if (!spec.routed) throw new FatalTaskError('stage route needs an index job with the routed option');
    const trained = await trainedFiles(storage, spec, task.jobId);
    const routed = spec.indexes.filter((i) => trained[i.name] && parseIvfFactory(i.factory));
    if (routed.length === 0)
      throw new FatalTaskError(
        `the routed option needs an IVF index (IVF{n},Flat or IVF{n},PQ{m}); this job builds ${spec.indexes.map((i) => i.factory).join(', ')}`,
        { field: 'routed' },
      );
    const embeddings = await readSetManifest(storage, spec.input, 'embeddings');
    const shards = [];
    for (const shard of embeddings.shards) {
      const indexFiles: Record<string, string> = {};
      const listSizeFiles: Record<string, string> = {};
      for (const index of routed) {
        indexFiles[index.name] = await storage.localPath(indexSetKeys.shardIndex(spec.output, shard.id, index.name));
        listSizeFiles[index.name] = await storage.localPath(indexSetKeys.shardListSizes(spec.output, shard.id, index.name));
      }
      shards.push({ shardId: shard.id, indexFiles, listSizeFiles, embeddingFile: await verifiedFile(storage, spec.input, shard) });
    }
    return {
      poolTask: {
        stage: 'route',
        partition: task.shardId,
        partitions: spec.routed.partitions,
        indexes: routed.map((i) => ({ name: i.name, trained: trained[i.name]!.index })),
        shards,
        workDir: work,
      },
      publishUnder: indexSetKeys.partition(spec.output, task.shardId),
    };
  },
  run: runRoute,
});
