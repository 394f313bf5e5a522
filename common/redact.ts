import { tmpdir } from 'node:os';

/*
 * What a server's error tells a stranger about its disk: nothing. Messages
 * that leave a process (error frames, API errors, missing-shard reasons)
 * have the process's storage locations (its root, the index set's folder,
 * the temp folder) replaced by placeholders; the log keeps the full text.
 */

/** `text` with each of `locations` (and the OS temp folder) replaced by `<storage>` / `<tmp>`. */
export function redactPaths(text: string, locations: readonly string[]): string {
  const roots = [...new Set(locations.filter((l) => l.length > 1 && l.startsWith('/')).map((l) => l.replace(/\/+$/, '')))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const root of roots) out = out.split(root).join('<storage>');
  const tmp = tmpdir().replace(/\/+$/, '');
  if (tmp.length > 1) out = out.split(tmp).join('<tmp>');
  return out;
}
