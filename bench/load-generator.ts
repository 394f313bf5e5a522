import { percentile } from '../search/percentile.js';

/**
 * A closed-loop load generator: `clients` loops each calling `call` back to
 * back for `seconds`; latency percentiles over every call, QPS over the run.
 */
export interface LoadResult {
  label: string;
  clients: number;
  seconds: number;
  requests: number;
  errors: number;
  firstError: string | null;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  qps: number;
}

export async function runLoad(
  label: string,
  options: { clients: number; seconds: number },
  call: (client: number, i: number) => Promise<unknown>,
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
        try {
          await call(client, i);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors += 1;
          firstError ??= (err as Error).message;
        }
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
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    qps: latencies.length / elapsed,
  };
}

export function formatLoad(r: LoadResult): string {
  return `${r.label}: ${r.clients} clients × ${r.seconds.toFixed(1)} s: ${r.requests} requests, ${r.errors} errors, p50 ${r.p50Ms.toFixed(2)} ms, p95 ${r.p95Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.qps.toFixed(0)} QPS`;
}
