import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A key is missing or a stored file is corrupt. */
export class StorageError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('STORAGE', message, options, { retryable: true, status: 503 });
  }
}

/** A storage key would resolve outside the storage root (`..`, an absolute path elsewhere, a symlink leaving it). */
export class StorageKeyError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('STORAGE_KEY_INVALID', message, options, { retryable: false, status: 400 });
  }
}
