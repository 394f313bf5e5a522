import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** The input as a whole cannot be ingested (missing file, wrong header, unknown format). */
export class IngestError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('INGEST_FAILED', message, options, { retryable: false, status: 422 });
  }
}

/** `--strict` was given and at least one row was rejected. */
export class StrictModeError extends SciClusterError {
  readonly rowsRejected: number;
  readonly rejectedPath: string;

  constructor(rowsRejected: number, rejectedPath: string) {
    super('INGEST_STRICT_REJECTED', `strict mode: ${rowsRejected} row(s) rejected; see ${rejectedPath}`, { file: rejectedPath });
    this.rowsRejected = rowsRejected;
    this.rejectedPath = rejectedPath;
  }
}

/** A manifest or shard file is missing, malformed, or does not match its checksum. */
export class ShardFormatError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('SHARD_FORMAT', message, options, { retryable: false, status: 422 });
  }
}

/** A queries file (queries.jsonl) that cannot be read, or a line of it that is not a query. */
export class QueriesFileError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('QUERIES_FORMAT', message, options, { retryable: false, status: 422 });
  }
}
