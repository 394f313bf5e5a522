import type { MessagePort } from 'node:worker_threads';
import type { IndexSpec, NegativeFilter } from '../../jobs/index.js';
import type { NprobeTuningOptions } from '../../faiss/index.js';

/** A shared quantizer's files for one index: the trained, empty index, and for a dual-view index its coarse centroids (.npy). */
export interface TrainedFiles {
  index: string;
  centroids: string | null;
}

/** How a task encodes texts: the baseline's fitted files, or a local model folder (`cacheKey` identifies its weights). */
export type EncoderFiles =
  { kind: 'hashed-tfidf'; modelConfig: string; modelIdf: string } | { kind: 'model'; dir: string; cacheKey: string; batchSize: number };

/** A task as the pool runs it: every input and output is a local path; `cancel` is raised to stop it between batches (cancel-flag.ts). */
export type PoolTask = (
  | { stage: 'fit'; passageFile: string; buckets: number; outFile: string; progress?: MessagePort }
  | {
      stage: 'encode';
      passageFile: string;
      encoder: EncoderFiles;
      outFile: string;
      batchRows: number;
      progress?: MessagePort;
    }
  | {
      /** A seeded uniform sample of one shard's rows, both views where the set has two (shared quantizer). */
      stage: 'sample';
      shardId: number;
      embeddingFile: string;
      rows: number;
      seed: number;
      workDir: string;
      progress?: MessagePort;
    }
  | {
      /** Every index that needs training, trained once on the pooled samples (shared quantizer). */
      stage: 'train';
      /** Recorded in trained.json, so that the index stage never takes another job's trained files. */
      jobId: string;
      /** Per shard, in shard order: its item-view sample and its query-view sample (null for a one-tower set). */
      samples: Array<{ item: string; query: string | null }>;
      indexes: IndexSpec[];
      workDir: string;
      progress?: MessagePort;
    }
  | {
      stage: 'index';
      shardId: number;
      embeddingFile: string | null;
      passageFile: string | null;
      indexes: IndexSpec[];
      /** Per index name: the shared trained (empty) index to fill, and a dual-view index's centroids. */
      trained?: Record<string, TrainedFiles>;
      nprobeTuning: NprobeTuningOptions;
      bm25: { k1: number; b: number } | null;
      workDir: string;
      progress?: MessagePort;
    }
  | {
      /** Routed IVF: one serving partition's lists gathered from every shard's index (route-task.ts). */
      stage: 'route';
      partition: number;
      partitions: number;
      /** The IVF indexes routed: each with its trained, empty index (the shared quantizer). */
      indexes: Array<{ name: string; trained: string }>;
      /** Per shard: its index file and list sizes (JSON) of each routed index, and its embedding shard (for the rows' external ids). */
      shards: Array<{ shardId: number; indexFiles: Record<string, string>; listSizeFiles: Record<string, string>; embeddingFile: string }>;
      workDir: string;
      progress?: MessagePort;
    }
  | {
      /** One graph per serving group: the group's HNSW indexes over its shards' rows (group-task.ts). */
      stage: 'group';
      group: number;
      indexes: IndexSpec[];
      /** The group's embedding shards, in shard order. */
      embeddingFiles: string[];
      workDir: string;
      progress?: MessagePort;
    }
  | { stage: 'stats'; bm25Dir: string; queriesFile: string; qrelsFile: string; outFile: string; progress?: MessagePort }
  | { stage: 'queries'; queriesFile: string; qrelsFile: string; encoder: EncoderFiles; outFile: string; progress?: MessagePort }
  | {
      stage: 'mine';
      shardId: number;
      queriesFile: string;
      qrelsFile: string;
      k: number;
      /** This shard's passages, to mark candidates that contain a query's answer; null = no answer matching. */
      passageFile: string | null;
      source:
        | { kind: 'bm25'; bm25Dir: string; statsFiles: string[] }
        | { kind: 'dense'; indexFile: string; embeddingFile: string; queryVectorsFile: string; nprobe?: number; efSearch?: number };
      outFile: string;
      progress?: MessagePort;
    }
  | {
      stage: 'merge';
      candidateFiles: string[];
      queriesFile: string;
      qrelsFile: string;
      k: number;
      filter: NegativeFilter;
      provenance: { stage: string; source: string; checkpoint: string | null; step: number | null };
      outFile: string;
      accountFile: string;
      progress?: MessagePort;
    }
) & { cancel?: SharedArrayBuffer };

export interface PoolResult {
  rowsIn: number;
  rowsWritten: number;
  rowsRejected: number;
  /** Local files written, with the role each plays (and the name under the task's output folder). */
  files: Array<{ path: string; role: string; name: string; buildMs?: number }>;
}

/** Progress message posted from the pool thread. */
export interface ProgressMessage {
  rows: number;
  total: number;
}
