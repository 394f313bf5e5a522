/**
 * Where shard, embedding and index files live, as one small interface with
 * two implementations: a local or shared filesystem (NFS, a Kubernetes
 * volume) and the NATS object store (clusters without a shared filesystem).
 * Keys are '/'-separated names; for the filesystem they are paths.
 */
export interface Storage {
  readonly kind: 'fs' | 'nats-object-store';
  /** A local path to read `key` from (downloaded and cached when remote). */
  localPath(key: string, options?: { signal?: AbortSignal }): Promise<string>;
  /** A fresh local folder to write outputs for `outputKey` into before publishing them (on the storage's own filesystem where it has one, so publishing never crosses filesystems). */
  workDir(outputKey: string): Promise<string>;
  /** Makes a finished local file visible under `key` in one step; returns its checksum. */
  publish(localFile: string, key: string): Promise<{ sha256: string; bytes: number }>;
  exists(key: string): Promise<boolean>;
  readText(key: string): Promise<string>;
  /** Writes through a temp name / one object put: readers never see half a file. */
  writeText(key: string, text: string): Promise<void>;
  /** Checks that `key` is a key of this storage (inside its root, no `..`); returns it normalised or throws StorageKeyError. */
  checkKey(key: string): string;
  /** Removes a work folder from `workDir`. */
  cleanup(localDir: string): Promise<void>;
  /** Local folders this storage keeps files in (its root, its cache): redacted from messages that leave the process. */
  readonly localRoots: readonly string[];
  /** Every file whose key is `prefix` or lies under `prefix/` ('' = all), sorted by key; files being written aside are not listed. */
  list(prefix: string): Promise<StoredFile[]>;
  /** Removes the file `key`; false when there was none. */
  remove(key: string): Promise<boolean>;
}

/** One file as a listing shows it. */
export interface StoredFile {
  key: string;
  bytes: number;
  /** Last write, ISO 8601. */
  modified: string;
}

/** Whether `key` is `prefix` itself or lies under it ('' holds every key). */
export function keyUnder(key: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return p === '' || key === p || key.startsWith(`${p}/`);
}

export function joinKey(...parts: string[]): string {
  return parts
    .filter((p) => p !== '')
    .join('/')
    .replace(/\/+/g, '/');
}
