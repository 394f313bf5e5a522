import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { joinKey, type Storage } from '../storage/index.js';
import type { TaskMessage, TaskOutput } from '../jobs/index.js';
import { cancelFlagFor, fromWorkerThread, stageNamed, type PoolResult, type ProgressMessage } from '../stages/index.js';

/*
 * Runs one task message: its stage (stages/registry.ts) fetches the inputs
 * through storage, the CPU work runs in the piscina pool, and the outputs are
 * published under deterministic names (a task that runs twice overwrites its
 * own files) and reported.
 */

export interface TaskRunResult {
  rowsIn: number;
  rowsWritten: number;
  rowsRejected: number;
  outputs: TaskOutput[];
}

export async function runTask(
  task: TaskMessage,
  storage: Storage,
  pool: Piscina,
  options: { onProgress?: (p: ProgressMessage) => void; beforePublish?: () => void; signal?: AbortSignal } = {},
): Promise<TaskRunResult> {
  const work = await storage.workDir(task.spec.output);
  try {
    const stage = stageNamed(task.stage);
    const { poolTask, publishUnder } = await stage.prepare({ storage, task, spec: task.spec, work });
    const channel = new MessageChannel();
    channel.port1.on('message', (m: ProgressMessage) => options.onProgress?.(m));
    let result: PoolResult;
    // Cancelled while it was being prepared: the CancelledError as it is (the catch below would make it a thread failure).
    options.signal?.throwIfAborted();
    try {
      // Not piscina's own signal: that kills the thread, even under a native call. The thread stops itself between batches.
      result = (await pool.run(
        { ...poolTask, progress: channel.port2, cancel: cancelFlagFor(options.signal) },
        { transferList: [channel.port2] },
      )) as PoolResult;
    } catch (err) {
      throw fromWorkerThread(err);
    } finally {
      channel.port1.close();
    }
    options.beforePublish?.();
    const outputs: TaskOutput[] = [];
    for (const file of result.files) {
      const name = file.name === '' ? file.path.slice(work.length + 1) : file.name;
      const key = joinKey(publishUnder, name);
      const { sha256, bytes } = await storage.publish(file.path, key);
      outputs.push({ key, sha256, bytes, role: file.role, ...(file.buildMs !== undefined ? { buildMs: Math.round(file.buildMs) } : {}) });
    }
    return { rowsIn: result.rowsIn, rowsWritten: result.rowsWritten, rowsRejected: result.rowsRejected, outputs };
  } finally {
    await storage.cleanup(work);
  }
}
