import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { readEmbeddingLayout } from '../../encoder/index.js';
import { JobError } from '../../jobs/index.js';
import { EMBEDDING_SET_FORMAT, PASSAGE_FORMAT, readIdColumns, readSetManifest, shardFile, ShardFormatError } from '../../shards/index.js';
import { joinKey, type Storage } from '../../storage/index.js';
import { readArrowVectors, writeNpy } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { passagesOf } from '../passages.js';
import { defineJobKind, defineStage, relativeTo, rowCounts, shardName, tasksOfStage, type JobSpecOf, type PoolResult, type PoolTask } from '../stage.js';

/*
 * export job: a passage or embedding set written for Python users, one task
 * per shard. Parquet: one file per shard (passages: row_id, id, title, text;
 * embeddings: row_id, id and a list<float> column per view). npy (embeddings
 * only): one float32 [rows, dim] .npy per shard and view, in the shard's row
 * order, and ids-<shard>.jsonl naming each row ({"row": …, "id": …}, one
 * line per .npy row). The manifest lists every file with its checksum.
 */

export const EXPORT_SET_FORMAT = 'sci-cluster/export@1';

type ExportSpec = JobSpecOf<'export'>;
type SourceKind = 'passages' | 'embeddings';

export interface ExportTask extends PoolTask {
  stage: 'export';
  shardId: number;
  source: SourceKind;
  format: ExportSpec['format'];
  shardFile: string;
  workDir: string;
}

/** Rows per Parquet row group (and per read of a shard's passages). */
const ROW_GROUP = 65_536;

/** What the input set holds, from its manifest's format: only passage and embedding sets are exported. */
async function sourceKind(storage: Storage, spec: ExportSpec): Promise<SourceKind> {
  const file = joinKey(spec.input, 'manifest.json');
  let format: unknown;
  try {
    format = (JSON.parse(await storage.readText(file)) as { format?: unknown } | null)?.format;
  } catch (err) {
    throw new JobError(`cannot read ${file}: ${(err as Error).message}`, { file, field: 'input', cause: err });
  }
  if (format === PASSAGE_FORMAT) {
    if (spec.format === 'npy') throw new JobError(`npy holds vectors: ${spec.input} is a passage set (export it as parquet)`, { field: 'format' });
    return 'passages';
  }
  if (format === EMBEDDING_SET_FORMAT) return 'embeddings';
  throw new JobError(`an export reads a passage or embedding set; ${spec.input} holds ${typeof format === 'string' ? format : 'no set format'}`, {
    file,
    field: 'input',
  });
}

const utf8 = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' });
const int64 = (name: string): SchemaElement => ({ name, type: 'INT64', repetition_type: 'REQUIRED' });
/** A list<float> column in Parquet's three-level LIST layout (what pyarrow and pandas read as a list column). */
const floatList = (name: string): SchemaElement[] => [
  { name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'FLOAT', repetition_type: 'REQUIRED' },
];

async function exportPassages(task: ExportTask, cancel?: TaskCancel): Promise<PoolResult> {
  const path = join(task.workDir, `part-${shardName(task.shardId)}.parquet`);
  const writer = new ParquetWriter({
    writer: fileWriter(path),
    schema: [{ name: 'root', num_children: 4 }, int64('row_id'), utf8('id'), utf8('title'), utf8('text')],
    createdBy: 'sci-cluster export',
  });
  let rows = 0;
  let batch = { rowIds: [] as bigint[], ids: [] as string[], titles: [] as string[], texts: [] as string[] };
  const flush = async () => {
    if (batch.ids.length === 0) return;
    cancel?.throwIfCancelled();
    await writer.write({
      columnData: [
        { name: 'row_id', data: BigInt64Array.from(batch.rowIds) },
        { name: 'id', data: batch.ids },
        { name: 'title', data: batch.titles },
        { name: 'text', data: batch.texts },
      ],
      rowGroupSize: ROW_GROUP,
    });
    rows += batch.ids.length;
    task.progress?.postMessage({ rows, total: 0 });
    batch = { rowIds: [], ids: [], titles: [], texts: [] };
  };
  for await (const p of passagesOf(task.shardFile)) {
    batch.rowIds.push(BigInt(p.rowId));
    batch.ids.push(p.externalId);
    batch.titles.push(p.title);
    batch.texts.push(p.text);
    if (batch.ids.length >= ROW_GROUP) await flush();
  }
  await flush();
  await writer.finish();
  return { rowsIn: rows, rowsWritten: rows, rowsRejected: 0, files: [{ path, role: 'parquet', name: '' }] };
}

async function exportEmbeddings(task: ExportTask, cancel?: TaskCancel): Promise<PoolResult> {
  const { rowIds, externalIds } = readIdColumns(task.shardFile);
  // `embedding` (one tower), or `embedding_q` and `embedding_i` (two).
  const views = readEmbeddingLayout(task.shardFile).views.map((column) => ({ column, vectors: readArrowVectors(task.shardFile, column) }));
  for (const view of views) {
    if (view.vectors.count !== externalIds.length)
      throw new ShardFormatError(`${view.column} has ${view.vectors.count} rows, the id columns ${externalIds.length}`, {
        file: task.shardFile,
        field: view.column,
      });
  }
  cancel?.throwIfCancelled();
  const rows = externalIds.length;
  const files: PoolResult['files'] = [];
  if (task.format === 'npy') {
    for (const { column, vectors } of views) {
      const path = join(task.workDir, `${column}-${shardName(task.shardId)}.npy`);
      writeNpy(path, vectors.data, vectors.dim);
      files.push({ path, role: `npy:${column}`, name: '' });
    }
    const idsPath = join(task.workDir, `ids-${shardName(task.shardId)}.jsonl`);
    writeFileSync(idsPath, externalIds.map((id, i) => `${JSON.stringify({ row: Number(rowIds[i]!), id })}\n`).join(''));
    files.push({ path: idsPath, role: 'ids', name: '' });
  } else {
    const path = join(task.workDir, `part-${shardName(task.shardId)}.parquet`);
    const writer = new ParquetWriter({
      writer: fileWriter(path),
      schema: [{ name: 'root', num_children: 2 + views.length }, int64('row_id'), utf8('id'), ...views.flatMap((v) => floatList(v.column))],
      createdBy: 'sci-cluster export',
    });
    for (let start = 0; start < rows; start += ROW_GROUP) {
      cancel?.throwIfCancelled();
      const end = Math.min(rows, start + ROW_GROUP);
      await writer.write({
        columnData: [
          { name: 'row_id', data: rowIds.slice(start, end) },
          { name: 'id', data: externalIds.slice(start, end) },
          // The writer takes a plain array per row for a list column.
          ...views.map(({ column, vectors }) => ({
            name: column,
            data: Array.from({ length: end - start }, (_, i) => Array.from(vectors.data.subarray((start + i) * vectors.dim, (start + i + 1) * vectors.dim))),
          })),
        ],
        rowGroupSize: ROW_GROUP,
      });
      task.progress?.postMessage({ rows: end, total: rows });
    }
    await writer.finish();
    files.push({ path, role: 'parquet', name: '' });
  }
  return { rowsIn: rows, rowsWritten: rows, rowsRejected: 0, files };
}

export const exportStage = defineStage<'export', ExportTask>({
  name: 'export',
  job: 'export',
  async shardIds(storage, spec) {
    const kind = await sourceKind(storage, spec);
    return (await readSetManifest(storage, spec.input, kind)).shards.map((s) => s.id);
  },
  async prepare({ storage, task, spec, work }) {
    const source = await sourceKind(storage, spec);
    return {
      poolTask: {
        stage: 'export',
        shardId: task.shardId,
        source,
        format: spec.format,
        shardFile: await shardFile(storage, spec.input, source, task.shardId),
        workDir: work,
      },
      publishUnder: spec.output,
    };
  },
  run: (task, cancel) => (task.source === 'passages' ? exportPassages(task, cancel) : exportEmbeddings(task, cancel)),
});

export const exportJob = defineJobKind<'export'>({
  kind: 'export',
  stages: [exportStage],
  inputs: (spec) => [spec.input],
  storageKeys: (spec) => [
    ['output', spec.output],
    ['input', spec.input],
  ],
  outputFormat: EXPORT_SET_FORMAT,
  async manifest(storage, job, allTasks) {
    const spec = job.spec;
    const tasks = tasksOfStage(allTasks, 'export');
    const source = await sourceKind(storage, spec);
    const set = source === 'embeddings' ? await readSetManifest(storage, spec.input, 'embeddings') : null;
    return {
      format: EXPORT_SET_FORMAT,
      ...rowCounts(job.id, tasks),
      input: spec.input,
      source,
      exported: spec.format,
      ...(set ? { dim: set.dim, views: set.views } : {}),
      shards: tasks.map((t) => ({
        id: t.shardId,
        rows: t.rowsWritten,
        files: t.outputs.map((o) => ({ role: o.role, path: relativeTo(spec.output, o.key), sha256: o.sha256, bytes: o.bytes })),
      })),
    };
  },
});
