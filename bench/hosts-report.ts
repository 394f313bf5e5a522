/*
 * The three-host bench's report (bench/hosts.ts writes it to docs/hosts/report.json) and the README
 * table made from it; a unit test checks that the README's block is exactly this rendering.
 */

/** One pass of the main path across the three hosts at one delay. */
export interface HostsRun {
  /** Added to every chunk between two hosts, each way (as `netem delay` on every host would). */
  delayMs: number;
  /** Wall seconds of each command on host A, `--wait`ed. */
  stagesS: { ingest: number; encode: number; index: number; mine: number };
  /** Bytes the route proxies forwarded between hosts (both ways, every pair): NATS routes carry all of it. */
  bytesBetweenHosts: number;
  /** Bytes of the files stored in the object store by the run (`sci storage ls`). */
  objectStoreBytes: number;
  /** Sequential searches through the API on A (two queries each, k 10, Flat). */
  search: { requests: number; p50Ms: number; p99Ms: number };
}

export interface HostsReport {
  commit: string;
  corpus: string;
  passages: number;
  runs: HostsRun[];
}

const seconds = (s: number) => s.toFixed(1);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** The README block: one row per measure, one column per delay, and the last delay's ratio to the first. */
export function renderHostsMarkdown(report: HostsReport): string {
  const [base, ...others] = report.runs;
  if (!base) throw new Error('the hosts report has no runs');
  const last = others.at(-1) ?? base;
  const row = (name: string, value: (run: HostsRun) => number, format: (v: number) => string) =>
    `| ${name} | ${report.runs.map((run) => format(value(run))).join(' | ')} | ${(value(last) / value(base)).toFixed(2)}× |`;
  return [
    `Commit \`${report.commit}\`, ${report.corpus} (${report.passages} passages, 4 shards), three namespace hosts.`,
    '',
    `| measure | ${report.runs.map((run) => `${run.delayMs} ms`).join(' | ')} | ${last.delayMs} ms ÷ ${base.delayMs} ms |`,
    `| --- | ${report.runs.map(() => '---').join(' | ')} | --- |`,
    row('ingest into the object store, s', (r) => r.stagesS.ingest, seconds),
    row('encode job, s', (r) => r.stagesS.encode, seconds),
    row('index job (Flat, IVF16,PQ8, HNSW16, BM25), s', (r) => r.stagesS.index, seconds),
    row('mine job (dense:flat), s', (r) => r.stagesS.mine, seconds),
    row('bytes between hosts, MiB', (r) => r.bytesBetweenHosts, mib),
    row('bytes stored in the object store, MiB', (r) => r.objectStoreBytes, mib),
    row(
      'search p50 through the API on A, ms',
      (r) => r.search.p50Ms,
      (v) => v.toFixed(1),
    ),
    row(
      'search p99 through the API on A, ms',
      (r) => r.search.p99Ms,
      (v) => v.toFixed(1),
    ),
  ].join('\n');
}
