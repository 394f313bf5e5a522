import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify as toYaml } from 'yaml';
import { freePort } from '../../messaging/index.js';

/** A real Prometheus (Debian's) on loopback, scraping the given jobs every second, with its store in `dir`. */
export class PrometheusProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly output: () => string,
  ) {}

  static async start(
    dir: string,
    jobs: Array<{ name: string; targets: string[]; bearerToken?: string; labels?: Record<string, string> }>,
  ): Promise<PrometheusProcess> {
    const config = {
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: jobs.map((job) => ({
        job_name: job.name,
        scrape_interval: '1s',
        scrape_timeout: '900ms',
        static_configs: [{ targets: job.targets, ...(job.labels ? { labels: job.labels } : {}) }],
        ...(job.bearerToken ? { authorization: { type: 'Bearer', credentials: job.bearerToken } } : {}),
      })),
    };
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, toYaml(config));
    const port = await freePort();
    const child = spawn(
      'prometheus',
      [`--config.file=${file}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const prometheus = new PrometheusProcess(child, `http://127.0.0.1:${port}`, () => output);
    for (const deadline = Date.now() + 30_000; ;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${output}`);
      const ready = await fetch(`${prometheus.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return prometheus;
      if (Date.now() > deadline) throw new Error(`prometheus not ready in 30 s: ${output}`);
      await sleep(200);
    }
  }

  /** An instant query through the HTTP API: each series' labels and value. */
  async query(promql: string): Promise<Array<{ labels: Record<string, string>; value: number }>> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`prometheus query ${promql}: ${body.error}`);
    return body.data!.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  }

  /** The one value of a query that sums to a single series (NaN when it has none). */
  async scalar(promql: string): Promise<number> {
    const result = await this.query(promql);
    return result.length === 1 ? result[0]!.value : Number.NaN;
  }

  /** Waits until every scrape target reports up (a scrape has happened for each). */
  async waitUp(targets: number, timeoutMs = 30_000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; ;) {
      const up = await this.query('up == 1');
      if (up.length >= targets) return;
      if (Date.now() > deadline) throw new Error(`only ${up.length} of ${targets} targets up: ${JSON.stringify(await this.query('up'))}\n${this.output()}`);
      await sleep(500);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}
