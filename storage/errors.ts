import { SciClusterError, type SciClusterErrorOptions } from '../common/errors.js';

/** A key is missing or a stored file is corrupt. */
export class StorageError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('STORAGE', message, options);
  }
}
