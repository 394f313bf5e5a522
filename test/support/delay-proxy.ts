import { connect, createServer, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';

/*
 * A TCP proxy that holds every chunk for a fixed delay in each direction: the multi-host bench's
 * latency between hosts where the kernel has no `netem` qdisc. Run inside a host's namespace:
 *
 *   node delay-proxy.js LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS COUNT_FILE
 *
 * Order is kept (each direction is one FIFO released by arrival time + delay); bandwidth is not
 * limited. The bytes forwarded each way are written to COUNT_FILE every second and on SIGTERM.
 */

/** This script's path after the build, for `node` inside a namespace. */
export const DELAY_PROXY_SCRIPT = new URL(import.meta.url).pathname;

/** Bytes forwarded towards the target (`out`) and back (`in`). */
export interface ProxyCounts {
  out: number;
  in: number;
}

/** Pipes `from` into `to`, each chunk released `delayMs` after it arrived; counts bytes with `count`. */
function delayedPipe(from: Socket, to: Socket, delayMs: number, count: (bytes: number) => void): void {
  const queue: Array<{ due: number; chunk: Buffer }> = [];
  let timer: NodeJS.Timeout | null = null;
  const release = () => {
    timer = null;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { chunk } = queue.shift()!;
      count(chunk.length);
      to.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(release, queue[0]!.due - now);
  };
  from.on('data', (chunk: Buffer) => {
    if (delayMs === 0) {
      count(chunk.length);
      to.write(chunk);
      return;
    }
    queue.push({ due: Date.now() + delayMs, chunk });
    timer ??= setTimeout(release, delayMs);
  });
  // The other side closes once what is held has gone out.
  from.on('end', () => {
    const done = () => (queue.length === 0 ? to.end() : setTimeout(done, delayMs));
    done();
  });
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const [listenHost, listenPort, targetHost, targetPort, delay, countFile] = process.argv.slice(2);
  const delayMs = Number(delay);
  const counts: ProxyCounts = { out: 0, in: 0 };
  const save = () => writeFileSync(countFile!, JSON.stringify(counts));
  const server = createServer((client) => {
    const upstream = connect(Number(targetPort), targetHost!);
    delayedPipe(client, upstream, delayMs, (n) => (counts.out += n));
    delayedPipe(upstream, client, delayMs, (n) => (counts.in += n));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  server.listen(Number(listenPort), listenHost);
  setInterval(save, 1000).unref();
  process.on('SIGTERM', () => {
    save();
    process.exit(0);
  });
}
