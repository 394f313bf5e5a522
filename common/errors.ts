/**
 * Base of every error sci-cluster throws on purpose. Each area has its own
 * `errors.ts` with subclasses; callers branch on `code`, never on message text.
 */
export interface SciClusterErrorOptions extends ErrorOptions {
  /** File the problem was found in, when there is one. */
  file?: string;
  /** 1-based line (or record index for non-line formats) inside `file`. */
  line?: number;
  /** Dotted path of the offending field (`workers.pool.threads`, `_id`). */
  field?: string;
}

export class SciClusterError extends Error {
  readonly code: string;
  readonly file: string | null;
  readonly line: number | null;
  readonly field: string | null;

  constructor(code: string, message: string, options: SciClusterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.file = options.file ?? null;
    this.line = options.line ?? null;
    this.field = options.field ?? null;
  }
}

/** An argument a person typed is wrong; the CLI prints it without a stack. */
export class UsageError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('USAGE', message, options);
  }
}
