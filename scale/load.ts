import { percentile } from '../eval/index.js';

/**
 * The closed-loop load generator (benches, the scale harness's cells, the
 * API tests): `clients` loops each calling `call` back to back for
 * `seconds`; latency percentiles over every answered call, QPS over the run.
 * `onResponse` sees each answer and its time (the scale cell splits it).
 */
export interface LoadResult {
  label: string;
  clients: number;
  seconds: number;
  requests: number;
  errors: number;
  firstError: string | null;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  qps: number;
}

export async function runLoad<T>(
  label: string,
  options: { clients: number; seconds: number },
  call: (client: number, i: number) => Promise<T>,
  onResponse?: (response: T, ms: number) => void,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const started = performance.now();
  const end = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      for (let i = 0; performance.now() < end; i++) {
        const t0 = performance.now();
        let response: T;
        try {
          response = await call(client, i);
        } catch (err) {
          errors += 1;
          firstError ??= (err as Error).message;
          continue;
        }
        const ms = performance.now() - t0;
        latencies.push(ms);
        onResponse?.(response, ms);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    label,
    clients: options.clients,
    seconds: elapsed,
    requests: latencies.length,
    errors,
    firstError,
    meanMs: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    qps: latencies.length / elapsed,
  };
}

export function formatLoad(r: LoadResult): string {
  return `${r.label}: ${r.clients} clients × ${r.seconds.toFixed(1)} s: ${r.requests} requests, ${r.errors} errors, p50 ${r.p50Ms.toFixed(2)} ms, p95 ${r.p95Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.qps.toFixed(0)} QPS`;
}
