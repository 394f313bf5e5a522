import { basename, dirname } from 'node:path';
import { readShardPassages, type Passage } from '../shards/index.js';

export { passageText } from '../shards/index.js';

/** Streams the passages of one local shard file. */
export function passagesOf(file: string): AsyncGenerator<Passage> {
  return readShardPassages(dirname(file), { id: 0, path: basename(file), rows: 0, sha256: '0'.repeat(64), bytes: 0, firstRowId: 0 });
}
