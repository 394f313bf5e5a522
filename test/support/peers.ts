import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { wordnetFixture } from './wordnet-fixture.js';

/*
 * What the hostile-peers tests share: a small served set (WordNet in a few
 * shards, 16-d hashed embeddings, a Flat index and optionally BM25), a
 * process's peak memory, and raw HTTP requests that `fetch` would refuse to
 * send (request targets such as `//`, lying lengths).
 */

/** WordNet passages in `shards` shards, their 16-d embeddings, and an index set of them with Flat (and BM25 when asked). */
export async function flatIndexSet(
  dir: string,
  shards: number,
  options: { bm25?: boolean } = {},
): Promise<{ passages: string; embeddings: string; indexes: string }> {
  const { passages, embeddings } = await wordnetFixture(dir, shards, { embeddings: true, dim: 16 });
  const indexes = join(dir, 'indexes');
  await runJobLocally(
    {
      kind: 'index',
      input: embeddings!,
      output: indexes,
      indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }],
      bm25: options.bm25 ? { passages } : null,
    },
    new FsStorage('/'),
    { threads: 2 },
  );
  return { passages, embeddings: embeddings!, indexes };
}

/** Peak resident memory of a process so far (VmHWM), MiB. */
export function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
}

/**
 * Sends `request` as it is to host:port; the answer's status code (0 when the connection closed without one).
 * With `halfClose` the client ends its side after the request (a request that never completes, such as a
 * lying Content-Length, then costs no wait); a server may drop an answer it computes asynchronously after
 * that, so requests whose answers matter keep their side open (`Connection: close` ends them).
 */
export function rawHttp(address: string, request: string, options: { halfClose?: boolean } = {}): Promise<number> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = connect(Number(port), host!, () => (options.halfClose === false ? socket.write(request) : socket.end(request)));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', () => resolve(0));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

/** One GET of `target` (any request target) at host:port; its status. */
export function rawGet(address: string, target: string): Promise<number> {
  return rawHttp(address, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { halfClose: false });
}

export const alive = (p: { exitCode: number | null; signalCode: NodeJS.Signals | null }) => p.exitCode === null && p.signalCode === null;
