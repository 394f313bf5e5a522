import { join } from 'node:path';
import { FaissIndex, setFaissThreads } from '../../faiss/index.js';
import { readIdColumns } from '../../shards/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { ITEM_VIEW_COLUMNS } from './index-task.js';
import { writePartitionIds } from './partition-ids.js';
import type { PoolResult, PoolTask } from './types.js';

/*
 * One graph per serving group (the index job's `graphGroups`): each HNSW
 * index built over the rows of the group's shards, read shard after shard,
 * with the external ids of those rows beside it. A query then walks one
 * graph per group instead of one per shard (HNSW's cost grows with the log
 * of a graph's size, not with its size: many small graphs cost more than
 * one big one).
 */
export async function runGroup(task: Extract<PoolTask, { stage: 'group' }>, cancel?: TaskCancel): Promise<PoolResult> {
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
    const indexPath = join(task.workDir, `${spec.name}.faiss`);
    await index.save(indexPath);
    files.push({ path: indexPath, role: `faiss:${spec.name}`, name: `${spec.name}.faiss`, buildMs: performance.now() - started });
    const idsPath = join(task.workDir, `${spec.name}.ids.arrow`);
    writePartitionIds(idsPath, rowIds, externalIds);
    files.push({ path: idsPath, role: `ids:${spec.name}`, name: `${spec.name}.ids.arrow` });
    rows = rowIds.length;
  }
  return { rowsIn: rows, rowsWritten: rows, rowsRejected: 0, files };
}
