import { StorageKeyError } from './errors.js';

/*
 * What a storage key may be. Keys come from job specs, manifests and model
 * cards, i.e. from anyone who can publish a message or write a file, so a
 * key is checked before it is resolved: no `..` segment, no NUL, and (for
 * names inside a set: a shard's path, a model card's weight file) never
 * absolute. Storage backends add their own containment on top.
 */

/** Checks a storage key; returns it with duplicate and trailing slashes removed. */
export function checkKey(key: string, what = 'storage key'): string {
  if (typeof key !== 'string' || key.length === 0) throw new StorageKeyError(`${what} is empty`, { field: what });
  if (key.includes('\0')) throw new StorageKeyError(`${what} ${JSON.stringify(key)} contains a NUL byte`, { field: what });
  if (key.split(/[\\/]+/).includes('..')) throw new StorageKeyError(`${what} ${JSON.stringify(key)} contains a '..' segment`, { field: what });
  return key.length > 1 ? key.replace(/\/+/g, '/').replace(/\/+$/, '') : key;
}

/** A file name relative to its set's folder (a manifest's shard path, a model card's weights): never absolute, never `..`. */
export function checkRelativeName(name: string, what = 'file name'): string {
  const checked = checkKey(name, what);
  if (checked.startsWith('/') || /^[A-Za-z]:[\\/]/.test(checked))
    throw new StorageKeyError(`${what} ${JSON.stringify(name)} must be relative to its folder`, { field: what });
  return checked;
}

/** For zod schemas: true when `checkKey` accepts the key. */
export function isCleanKey(key: string): boolean {
  return accepts(checkKey, key);
}

/** For zod schemas: true when `checkRelativeName` accepts the name. */
export function isRelativeName(name: string): boolean {
  return accepts(checkRelativeName, name);
}

function accepts(check: (value: string) => string, value: string): boolean {
  try {
    check(value);
    return true;
  } catch {
    return false;
  }
}
