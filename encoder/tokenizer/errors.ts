import { SciClusterError, type SciClusterErrorOptions } from '../../common/index.js';

/** A vocabulary is missing, malformed, or lacks a special token; bad tokenizer arguments. */
export class TokenizerError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('TOKENIZER', message, options, { retryable: false, status: 422 });
  }
}
