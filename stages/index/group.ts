import { FaissIndex, isGraphFactory, setFaissThreads } from '../../faiss/index.js';
import { FatalTaskError, groupShards, JobError, type IndexSpec } from '../../jobs/index.js';
import { readIdColumns, readSetManifest, verifiedFile } from '../../shards/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { indexSetKeys, ITEM_VIEW_COLUMNS } from './keys.js';
import { saveServingPart } from './partition-ids.js';

/*
 * One graph per serving group (the index job's `graphGroups`): each HNSW
 * index built over the rows of the group's shards, read shard after shard,
 * with the external ids of those rows beside it. A query then walks one
 * graph per group instead of one per shard (HNSW's cost grows with the log
 * of a graph's size, not with its size: many small graphs cost more than
 * one big one).
 */

/** One graph per serving group: the group's HNSW indexes over its shards' rows. */
export interface GroupTask extends PoolTask {
  stage: 'group';
  group: number;
  indexes: IndexSpec[];
  /** The group's embedding shards, in shard order. */
  embeddingFiles: string[];
  workDir: string;
}

async function runGroup(task: GroupTask, cancel?: TaskCancel): Promise<PoolResult> {
  setFaissThreads(1);
  const files: PoolResult['files'] = [];
  let rows = 0;
  for (const spec of task.indexes) {
    const started = performance.now();
    let index: FaissIndex | null = null;
    const rowIds: bigint[] = [];
    const externalIds: string[] = [];
    for (const file of task.embeddingFiles) {
      cancel?.throwIfCancelled();
      const vectors = readArrowVectors(file, ITEM_VIEW_COLUMNS);
      index ??= FaissIndex.create({ dim: vectors.dim, factory: spec.factory, metric: spec.metric });
      await index.add(vectors.data, vectors.ids, cancel ? { signal: cancel.signal } : {});
      const ids = readIdColumns(file);
      for (const row of ids.rowIds) rowIds.push(row);
      for (const id of ids.externalIds) externalIds.push(id);
      task.progress?.postMessage({ rows: rowIds.length, total: rowIds.length });
    }
    if (!index) continue;
    if (spec.efSearch) index.setDefaultEfSearch(spec.efSearch);
    files.push(...(await saveServingPart(task.workDir, spec.name, index, rowIds, externalIds, performance.now() - started)));
    rows = rowIds.length;
  }
  return { rowsIn: rows, rowsWritten: rows, rowsRejected: 0, files };
}

export const groupStage = defineStage<'index', GroupTask>({
  name: 'group',
  job: 'index',
  runsIn: (spec) => spec.graphGroups !== null,
  async shardIds(storage, spec) {
    if (!spec.graphGroups || !spec.input) throw new JobError('a group stage needs the job’s graphGroups option and an embedding set', { field: 'graphGroups' });
    const shards = (await readSetManifest(storage, spec.input, 'embeddings')).shards.length;
    if (spec.graphGroups.groups > shards)
      throw new JobError(`graphGroups: ${spec.graphGroups.groups} groups of ${shards} shards (a group holds whole shards)`, { field: 'graphGroups.groups' });
    return Array.from({ length: spec.graphGroups.groups }, (_, g) => g);
  },
  async prepare({ storage, task, spec, work }) {
    const input = spec.input;
    if (!spec.graphGroups || !input) throw new FatalTaskError('stage group needs an index job with the graphGroups option');
    const shards = (await readSetManifest(storage, input, 'embeddings')).shards;
    const mine = groupShards(
      shards.map((s) => s.id),
      task.shardId,
      spec.graphGroups.groups,
    );
    return {
      poolTask: {
        stage: 'group',
        group: task.shardId,
        indexes: spec.indexes.filter((i) => isGraphFactory(i.factory)),
        embeddingFiles: await Promise.all(
          mine.map((id) =>
            verifiedFile(
              storage,
              input,
              shards.find((s) => s.id === id)!,
            ),
          ),
        ),
        workDir: work,
      },
      publishUnder: indexSetKeys.group(spec.output, task.shardId),
    };
  },
  run: runGroup,
});
