import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { REPO } from './repo.js';

/** Debian's python3 (the one python3-faiss is installed for), not a pyenv shim. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export function pythonFaissAvailable(): boolean {
  // -I: isolated, so a ./faiss folder in the working directory cannot pass for the module.
  const probe = spawnSync(SYSTEM_PYTHON, ['-I', '-c', 'import faiss, numpy; faiss.IndexFlatL2(2)'], { encoding: 'utf8' });
  return probe.status === 0;
}

export interface PythonSearch {
  seconds: number;
  labels: BigInt64Array;
  distances: Float32Array;
}

/** Searches an index file with python faiss (see bench/python/faiss_search.py). */
export function pythonFaissSearch(
  indexPath: string,
  queriesNpy: string,
  k: number,
  params: Record<string, number>,
  threads: number,
  repeat: number,
  outNpz: string,
): PythonSearch {
  const script = join(REPO, 'bench', 'python', 'faiss_search.py');
  const run = spawnSync(SYSTEM_PYTHON, ['-I', script, indexPath, queriesNpy, String(k), JSON.stringify(params), String(threads), String(repeat), outNpz], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`python faiss failed: ${run.stderr}`);
  const meta = JSON.parse(run.stdout.trim().split('\n').pop()!) as { seconds: number };
  const arrays = readNpz(outNpz);
  return { seconds: meta.seconds, labels: new BigInt64Array(arrays.labels!.buffer), distances: new Float32Array(arrays.distances!.buffer) };
}

/** Minimal .npz reader (zip of .npy, stored or deflated) for numpy's savez output. */
function readNpz(path: string): Record<string, Uint8Array> {
  const zip = readFileSync(path);
  const out: Record<string, Uint8Array> = {};
  let offset = 0;
  while (offset + 30 <= zip.length && zip.readUInt32LE(offset) === 0x04034b50) {
    const method = zip.readUInt16LE(offset + 8);
    let compressed = zip.readUInt32LE(offset + 18);
    const nameLength = zip.readUInt16LE(offset + 26);
    const extraLength = zip.readUInt16LE(offset + 28);
    const name = zip.toString('utf8', offset + 30, offset + 30 + nameLength);
    const dataStart = offset + 30 + nameLength + extraLength;
    if (compressed === 0xffffffff) {
      // zip64: sizes in the extra field (uncompressed, then compressed)
      compressed = Number(zip.readBigUInt64LE(offset + 30 + nameLength + 4 + 8));
    }
    const raw = zip.subarray(dataStart, dataStart + compressed);
    const npy = method === 0 ? raw : inflateRawSync(raw);
    const headerLength = npy.readUInt16LE(8);
    const body = npy.subarray(10 + headerLength);
    out[name.replace(/\.npy$/, '')] = new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    offset = dataStart + compressed;
  }
  return out;
}
