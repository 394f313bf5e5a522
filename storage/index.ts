export { type Storage, joinKey } from './storage.js';
export { FsStorage, sha256, commitFile } from './fs-storage.js';
export { NatsObjectStorage, type ObjectBucket } from './object-storage.js';
export { uploadDir } from './upload.js';
export { StorageError, StorageKeyError } from './errors.js';
export { checkKey, checkRelativeName, isCleanKey, isRelativeName } from './keys.js';
export { fetchModelFolder, linkFiles } from './model-folder.js';
export { findLeftovers, removeLeftovers, type Leftover } from './sweep.js';
export { readJson, readJsonFile } from './read-json.js';
