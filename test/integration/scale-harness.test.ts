import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { connectNats, NatsServerProcess } from '../../messaging/index.js';
import { DEFAULT_HEDGE_POLICY, SearchService, ShardServer } from '../../search/index.js';
import { buildScaleReport, runScaleGrid, simulateGrid, writeScaleReport, type ScaleReport } from '../../scale/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';
import { tempDir } from '../support/paths.js';
import { chromiumDom } from '../support/chromium.js';
import { assertPlotted, plottedPoints, type PlottedPoint } from '../support/plots.js';

/*
 * The scale harness end to end on a small grid: WordNet in 1 and 2 shards,
 * Flat, served on a real nats-server (replica sets of in-process shard
 * servers; two replicas hedge), 1 and 4 clients. Every cell's time split
 * adds up to its mean latency, the simulator is checked against each
 * one-client cell and extrapolated, and report.html draws what report.json
 * holds, every plotted point read back from Chromium.
 */

const silent = pino({ level: 'silent' });

test('scale harness: a grid of cells with their time split, the tail simulator against them, and the report', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t, 'sci-scale-');
  const storage = new FsStorage('/');
  const sets = new Map<number, string>();
  let queries: Float32Array | null = null;
  for (const shards of [1, 2]) {
    const { embeddings } = await wordnetFixture(join(dir, `s${shards}`), shards, { embeddings: true, dim: 32 });
    const indexes = join(dir, `s${shards}`, 'indexes');
    await runJobLocally({ kind: 'index', input: embeddings!, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }] }, storage, {
      threads: 2,
    });
    sets.set(shards, indexes);
    // Passages' own vectors make fine queries for timing.
    queries ??= readArrowVectors(
      join(embeddings!, JSON.parse(readFileSync(join(embeddings!, 'manifest.json'), 'utf8')).shards[0].path),
      'embedding',
    ).data.slice(0, 200 * 32);
  }
  const nats = await NatsServerProcess.start();
  const nc = await connectNats({ servers: [nats.url], name: 'scale-test' });
  t.after(async () => {
    await nc.close();
    await nats.stop({ clean: true });
  });

  const run = await runScaleGrid({
    shards: [1, 2],
    replicas: [1, 2],
    clients: [1, 4],
    indexes: [{ name: 'flat' }],
    seconds: 0.6,
    queries: queries!,
    dim: 32,
    k: 10,
    serve: async (shards, replicas) => {
      const servers: ShardServer[] = [];
      for (let r = 0; r < replicas; r++) {
        const server = new ShardServer({ nc, storage, indexSet: sets.get(shards)!, logger: silent });
        await server.start();
        servers.push(server);
      }
      const service = await SearchService.open({ nc, storage, indexSet: sets.get(shards)!, logger: silent, hedge: replicas > 1 ? DEFAULT_HEDGE_POLICY : null });
      return {
        service,
        hedged: replicas > 1,
        stop: async () => {
          service.close();
          for (const server of servers) await server.stop();
        },
      };
    },
  });
  assert.equal(run.cells.length, 8);
  for (const cell of run.cells) {
    const what = `${cell.shards} shards × ${cell.replicas} replicas × ${cell.clients} clients`;
    assert.ok(cell.requests > 10, `${what}: ${cell.requests} requests`);
    assert.equal(cell.partial, 0, what);
    assert.equal(cell.hedged, cell.replicas > 1);
    const parts = Object.values(cell.split);
    assert.ok(
      parts.every((p) => p >= -1e-9),
      `${what}: ${JSON.stringify(cell.split)}`,
    );
    const sum = parts.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - cell.meanMs) < 1e-6 * Math.max(1, cell.meanMs), `${what}: split ${sum} vs mean ${cell.meanMs}`);
    assert.ok(cell.split.workMs > 0 && cell.p50Ms <= cell.p95Ms && cell.p95Ms <= cell.p99Ms);
    assert.equal(cell.samples.shardMs.length, cell.samples.routerMs.length * cell.shards, `${what}: one answer time per shard per request`);
  }

  const simulated = simulateGrid(run, [2, 64, 1024]);
  assert.equal(simulated.validation.length, 4, 'every one-client cell is predicted');
  for (const v of simulated.validation) {
    const cell = run.cells.find((c) => c.clients === 1 && c.shards === v.shards && c.replicas === v.replicas)!;
    assert.deepEqual(v.measured, { p50Ms: cell.p50Ms, p99Ms: cell.p99Ms });
    assert.ok(v.predicted.p50Ms > 0 && v.predicted.p99Ms >= v.predicted.p50Ms);
    t.diagnostic(
      `${v.shards} shard(s)${v.hedged ? ' hedged' : ''}: p50 ${v.predicted.p50Ms.toFixed(2)} predicted vs ${v.measured.p50Ms.toFixed(2)} measured, p99 ${v.predicted.p99Ms.toFixed(2)} vs ${v.measured.p99Ms.toFixed(2)}`,
    );
  }
  const [extrapolation] = simulated.extrapolations;
  assert.deepEqual(extrapolation!.from, { shards: 2, replicas: 1 });
  const p99s = extrapolation!.points.map((p) => p.plain.p99Ms);
  assert.ok(p99s[0]! <= p99s[1]! && p99s[1]! <= p99s[2]!, `p99 grows with the fan-out: ${p99s.join(', ')}`);
  assert.ok(extrapolation!.points[2]!.hedged.p99Ms < extrapolation!.points[2]!.plain.p99Ms, 'hedging cuts the tail at 1,024 shards');

  const report = buildScaleReport(run, simulated, { corpus: 'WordNet fixture' });
  // The plots come from the cells: the measured p99s and QPS are the cells' own.
  const measured = report.plots.find((p) => p.title === 'flat: p99 latency vs shards (one client)')!.series.find((s) => s.name === 'measured')!;
  assert.deepEqual(
    measured.points,
    run.cells.filter((c) => c.clients === 1 && !c.hedged).map((c) => [c.shards, c.p99Ms]),
  );
  const { html, json } = writeScaleReport(join(dir, 'report'), report);
  const written = JSON.parse(readFileSync(json, 'utf8')) as ScaleReport;
  assert.equal(written.cells.length, 8);
  assert.ok(!('samples' in written.cells[0]!), 'the report keeps summaries, not every sample');
  const dom = chromiumDom(html);
  if (dom === null) {
    t.diagnostic('chromium is not installed: the plotted points were not checked');
    return;
  }
  const expected: PlottedPoint[] = written.plots.flatMap((p) => p.series.flatMap((s) => s.points.map(([x, y]) => ({ plot: p.title, series: s.name, x, y }))));
  assertPlotted(plottedPoints(dom), expected, new Set(written.plots.filter((p) => p.logX).map((p) => p.title)));
});
