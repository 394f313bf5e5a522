import { join } from 'node:path';
import { readQuerySplit } from '../../mine/index.js';
import { FatalTaskError } from '../../jobs/index.js';
import { writeNpy } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { encoderFor, encoderOfSet, type EncoderFiles } from '../encode/encode.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { localQueryVectors, mineFolders, mineInputs, minedShards } from './inputs.js';

/*
 * mine job with a dense index as its source, stage 1 of 4 (one task): the
 * split's queries encoded once by the query tower of the encoder that made
 * the index set's embeddings, for every shard's search.
 */

export interface QueriesTask extends PoolTask {
  stage: 'queries';
  queriesFile: string;
  qrelsFile: string;
  encoder: EncoderFiles;
  outFile: string;
}

const QUERY_ENCODE_BATCH = 1024;

/** The split's queries encoded once by the query tower (.npy, in the split's order). */
async function runQueries(task: QueriesTask, cancel?: TaskCancel): Promise<PoolResult> {
  const split = readQuerySplit(task.queriesFile, task.qrelsFile);
  const encoder = await encoderFor(task.encoder);
  const vectors = new Float32Array(split.ids.length * encoder.dim);
  for (let start = 0; start < split.ids.length; start += QUERY_ENCODE_BATCH) {
    cancel?.throwIfCancelled();
    const texts = split.texts.slice(start, start + QUERY_ENCODE_BATCH);
    vectors.set(await encoder.encode(texts, 'query'), start * encoder.dim);
    task.progress?.postMessage({ rows: start + texts.length, total: split.ids.length });
  }
  writeNpy(task.outFile, vectors, encoder.dim);
  return { rowsIn: split.ids.length, rowsWritten: split.ids.length, rowsRejected: 0, files: [{ path: task.outFile, role: 'query-vectors', name: '' }] };
}

export const queriesStage = defineStage<'mine', QueriesTask>({
  name: 'queries',
  job: 'mine',
  runsIn: (spec) => spec.source.kind === 'dense',
  // One task: the query encoding is shared by every shard's search.
  async shardIds(storage, spec) {
    await minedShards(storage, spec); // the set's checks, though the encoding is one task
    return [0];
  },
  async prepare({ storage, spec, work }) {
    const { queriesFile, qrelsFile, set } = await mineInputs({ storage, spec });
    if (spec.source.kind !== 'dense' || !set.embeddings)
      throw new FatalTaskError('only dense mining encodes its queries first, with the embedding set’s encoder');
    return {
      poolTask: {
        stage: 'queries',
        queriesFile,
        qrelsFile,
        encoder: await encoderOfSet(storage, set.embeddings, join(work, 'model')),
        outFile: localQueryVectors(work),
      },
      publishUnder: mineFolders.queries(spec.output),
    };
  },
  run: runQueries,
});
