export { runIngest, type RunIngestOptions, type IngestResult, type IngestProgress, type SourceFormat } from './ingest-runner.js';
export { TsvIngester, splitTsvLine } from './ingest/tsv.js';
export { BeirIngester, type BeirIngesterOptions } from './ingest/beir.js';
export { DprJsonIngester, type DprJsonIngesterOptions } from './ingest/dpr-json.js';
export { ParquetIngester } from './ingest/parquet.js';
export { WordnetIngester, wordnetSplitOf, parseSynsetLine, wordnetDictDir, type WordnetSplit } from './ingest/wordnet.js';
export { readSynsetTagCounts } from './ingest/wordnet-frequency.js';
export type { Ingester, IngestEvent, IngestContext } from './ingest/types.js';
export { readManifest, writeManifest, verifyShardChecksums, sha256File, ID_POLICY, MANIFEST_FILE, type Manifest, type ShardEntry } from './manifest.js';
export { readShardBatches, readShardPassages, openShardSet, shardOfRow, passageText, type Passage } from './shard-reader.js';
export { ShardSetWriter, shardFileName, type ShardLayout } from './shard-set-writer.js';
export { PASSAGE_FORMAT, passageSchema } from './passage-schema.js';
export { readLines, type LineEvent } from './line-source.js';
export { IdFingerprintSet } from './id-fingerprint-set.js';
export { IngestError, StrictModeError, ShardFormatError, QueriesFileError } from './errors.js';
export { readQueriesFile, type QueryRow } from './queries-file.js';
export type { RejectedRow, RejectReason, RowKind } from './reject-log.js';
export { verifyShardSet, type VerifyReport } from './verify.js';
export {
  readSetManifest,
  verifiedFile,
  shardFile,
  EMBEDDING_SET_FORMAT,
  INDEX_SET_FORMAT,
  NEGATIVES_SET_FORMAT,
  FINISHED_JOB_INTERMEDIATES,
  NegativesSetManifestSchema,
  type NegativesSetManifest,
  EmbeddingSetManifestSchema,
  IndexSetManifestSchema,
  type SetKind,
  type EmbeddingSetManifest,
  EncoderDescriptionSchema,
  TrainedListSchema,
  type EncoderDescription,
  type IndexSetManifestRead,
} from './set-manifest.js';
export { ShardFileWriter, type CommittedFile } from './shard-file-writer.js';
export { ArrowRowReader, readIdColumns } from './arrow-row-reader.js';
export { PassageLookup, readPassageRows, PASSAGE_FIELDS, type PassageField, type PassageFields } from './passage-lookup.js';
export { writeSyntheticCorpus, streamSyntheticCorpus, SYNTHETIC_KINDS, type SyntheticCorpusOptions, type SyntheticKind } from './synthetic-corpus.js';
export { paraphrasedQuery, writeSyntheticQueries, type SyntheticQueriesOptions, type SyntheticQueriesResult } from './synthetic-queries.js';
export { loadSynsetGraph, neighbourhood, textWords, type SynsetGraph, type SynsetNode } from './synset-graph.js';
export { STDIN_INPUT } from './compressed.js';
