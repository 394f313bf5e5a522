export { type Storage, joinKey } from './storage.js';
export { FsStorage, sha256 } from './fs-storage.js';
export { NatsObjectStorage } from './object-storage.js';
export { uploadDir } from './upload.js';
export { StorageError } from './errors.js';
export { fetchModelFolder, linkFiles } from './model-folder.js';
