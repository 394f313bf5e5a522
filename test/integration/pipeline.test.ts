import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { listJobs } from '../../jobs/index.js';
import { readNegativesFile, readQuerySplit } from '../../mine/index.js';
import { PipelineStateSchema, planPipeline, PipelineConfigSchema, type PipelineState } from '../../pipeline/index.js';
import { TestCluster } from '../support/cluster.js';
import { runSci } from '../support/cli.js';
import { tempDir } from '../support/paths.js';
import { wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';

/*
 * The three-stage pipeline, shortened, on a real cluster (nats-server with
 * TLS and roles, a coordinator, two workers) over WordNet's verbs and
 * adverbs (17k passages, every query of theirs): the driver is SIGKILLed
 * while stage 3's mine job runs and started again. The job records show
 * that no job ran twice, the training segments of stages 1 and 2 were not
 * trained again, and every stage was evaluated over the whole corpus.
 */

const STEPS = { stage1: 40, stage2: 30, stage3: 30 };

function readState(file: string): PipelineState | null {
  if (!existsSync(file)) return null;
  try {
    return PipelineStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return null; // between a temp write and its rename
  }
}

test(
  'pipeline: stage 1 → BM25 negatives → a dense round; the driver killed during stage 3 continues without redoing finished jobs or training',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t);
    const dict = wordnetVerbsAndAdverbs(dir);
    const raw = {
      out: join(dir, 'run'),
      corpus: { passages: join(dir, 'passages'), ingest: { format: 'wordnet', input: dict, shards: 4 } },
      train: { model: { kind: 'fast', dim: 32, towers: 'shared' }, batchSize: 64, eval: { every: 1000, poolSize: 4000, queries: 300 } },
      stages: {
        inBatch: { steps: STEPS.stage1 },
        bm25: { steps: STEPS.stage2, mine: { k: 20 } },
        dense: { rounds: 1, steps: STEPS.stage3, mine: { k: 20 } },
      },
      eval: { maxQueries: 800 },
    };
    const configFile = join(dir, 'pipeline.json');
    writeFileSync(configFile, JSON.stringify(raw));
    const plan = planPipeline(PipelineConfigSchema.parse(raw));

    const cluster = await TestCluster.start({ dir, workers: 2 });
    t.after(() => cluster.stop());

    // First run: killed once stage 3's mine job is on the cluster.
    const first = cluster.spawnSci(['pipeline', 'run', configFile]);
    let killedDuring: PipelineState | null = null;
    for (const deadline = Date.now() + 300_000; Date.now() < deadline;) {
      const state = readState(plan.stateFile);
      const mine = state?.steps.find((s) => s.id === 'stage3.r1.mine');
      if (mine?.jobId) {
        killedDuring = state;
        break;
      }
      assert.equal(first.exitCode, null, `the driver exited early; logs:\n${cluster.logs()}`);
      await sleep(100);
    }
    assert.ok(killedDuring, 'stage 3 never started');
    await cluster.kill(first, 'SIGKILL');
    const minedJobBefore = killedDuring.steps.find((s) => s.id === 'stage3.r1.mine')!.jobId!;
    const doneBefore = killedDuring.steps.filter((s) => s.state === 'done');
    assert.ok(
      doneBefore.some((s) => s.id === 'stage2.eval'),
      'stages 1 and 2 were done before the kill',
    );
    const segmentResults = ['stage1', 'stage2'].map((stage) => join(plan.seedDir, stage, 'train', 'result.json'));
    const mtimes = segmentResults.map((f) => statSync(f).mtimeMs);

    // The same command again: it continues.
    const second = await runSci(['pipeline', 'run', configFile], {
      env: { ...cluster.env, ...cluster.roleEnv('pipeline'), SCI_LOG__LEVEL: 'warn' },
      timeoutMs: 400_000,
    });
    assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}\n${cluster.logs()}`);
    const state = readState(plan.stateFile)!;
    assert.ok(state.finishedAt, 'the run finished');
    assert.deepEqual(
      plan.steps.map((s) => [s.id, state.steps.find((r) => r.id === s.id)?.state]),
      plan.steps.map((s) => [s.id, 'done']),
    );

    // Finished steps were not redone: same records, training outputs untouched.
    for (const before of doneBefore)
      assert.deepEqual(
        state.steps.find((s) => s.id === before.id),
        before,
        `${before.id} was done again`,
      );
    assert.deepEqual(
      segmentResults.map((f) => statSync(f).mtimeMs),
      mtimes,
      'stage 1 and 2 training segments were not trained again',
    );
    assert.match(second.stdout, /stage1\.train: done earlier/);

    // The job records: one job per job step, the interrupted mine job followed rather than submitted again.
    const jobs = await listJobs(cluster.state.jobs);
    const jobSteps = plan.steps.filter((s) => s.kind === 'job');
    assert.equal(jobs.length, jobSteps.length, `jobs: ${jobs.map((j) => `${j.spec.kind} ${j.spec.output}`).join('\n')}`);
    for (const step of jobSteps) {
      const ran = jobs.filter((j) => step.kind === 'job' && j.spec.output === step.spec.output);
      assert.equal(ran.length, 1, `${step.id}: ${ran.length} jobs`);
      assert.equal(ran[0]!.state, 'done');
      assert.equal(state.steps.find((s) => s.id === step.id)!.jobId, ran[0]!.id);
    }
    const mineRecord = state.steps.find((s) => s.id === 'stage3.r1.mine')!;
    assert.equal(mineRecord.jobId, minedJobBefore, 'the mine job running at the kill was followed to its end');
    assert.equal(mineRecord.attempts, 2);

    // Training continued across segments: steps count on, with the optimizer state.
    const firstLine = (stage: string) =>
      JSON.parse(readFileSync(join(plan.seedDir, stage, 'train', 'train-log.jsonl'), 'utf8').split('\n')[0]!) as { type: string; step: number; lr: number };
    assert.equal(firstLine('stage2').step, STEPS.stage1 + 1);
    assert.equal(firstLine('stage3.r1').step, STEPS.stage1 + STEPS.stage2 + 1);
    const lastState = JSON.parse(readFileSync(join(plan.seedDir, 'stage3.r1', 'train', 'last', 'trainer-state.json'), 'utf8')) as {
      step: number;
      adamSteps: number;
    };
    assert.equal(lastState.step, STEPS.stage1 + STEPS.stage2 + STEPS.stage3);
    assert.equal(lastState.adamSteps, lastState.step, 'one optimizer state carried through every segment');

    // Every row evaluated over the whole corpus, the dev split after each stage and the test split at the end.
    const passages = JSON.parse(readFileSync(join(plan.passages, 'manifest.json'), 'utf8')) as { rowsWritten: number };
    const expected = ['bm25', 'hashed', 'stage1', 'stage2', 'stage3.r1', 'hybrid'];
    for (const split of ['dev', 'test']) {
      assert.deepEqual(
        state.results
          .filter((r) => r.split === split)
          .map((r) => r.stage)
          .sort(),
        [...expected].sort(),
        split,
      );
      for (const r of state.results.filter((x) => x.split === split)) {
        assert.equal(r.passages, passages.rowsWritten, `${r.stage} ${split} searched the whole corpus`);
        assert.ok(r.queries > 100 && r.queries <= 800, `${r.stage} ${split}: ${r.queries} queries`);
        for (const m of ['Recall@10', 'MRR@10', 'nDCG@10']) assert.ok(r.metrics[m]! >= 0 && r.metrics[m]! <= 1, `${r.stage} ${m}`);
      }
    }
    assert.ok(state.best && ['stage1', 'stage2', 'stage3.r1'].includes(state.best.stage), 'the best checkpoint is a trained stage');
    const bestValue = Math.max(...state.results.filter((r) => r.split === 'dev' && r.checkpoint && r.stage !== 'hybrid').map((r) => r.metrics['Recall@10']!));
    assert.equal(state.best.value, bestValue);
    // The fused row: the final stage's and BM25's kept rankings of the same queries, fused; nothing searched for it.
    for (const split of ['dev', 'test']) {
      const hybrid = state.results.find((r) => r.stage === 'hybrid' && r.split === split)!;
      const final = state.results.find((r) => r.stage === 'stage3.r1' && r.split === split)!;
      assert.equal(hybrid.queries, final.queries);
      assert.equal(hybrid.checkpoint, final.checkpoint);
      assert.equal(hybrid.latency, null);
      for (const dir of [join(plan.seedDir, 'stage3.r1'), join(plan.out, 'bm25')]) {
        const kept = JSON.parse(readFileSync(join(dir, `run-${split}.json`), 'utf8')) as { queries: Record<string, string[]> };
        assert.equal(Object.keys(kept.queries).length, final.queries, `${dir} ${split}: a ranking per query`);
      }
    }
    // The run wrote its result record: this checkout's commit, the resolved config's fingerprint.
    const record = JSON.parse(readFileSync(join(plan.seedDir, 'record.json'), 'utf8')) as { provenance: Array<{ commit: string }>; seeds: number[] };
    assert.deepEqual(record.seeds, [plan.seed]);
    assert.match(record.provenance[0]!.commit, /^[0-9a-f]{40}$/);

    // Provenance of stage 3's negatives, and no judged positive among them.
    const split = readQuerySplit(join(plan.passages, 'queries.jsonl'), join(plan.passages, 'qrels', 'train.tsv'));
    const positives = new Map(split.ids.map((id, i) => [id, split.positives[i]!]));
    let rows = 0;
    for (const row of readNegativesFile(join(plan.seedDir, 'stage3.r1', 'negatives', 'negatives.arrow'))) {
      rows += 1;
      assert.equal(row.stage, 'stage3.r1');
      assert.equal(row.source, 'dense:flat');
      assert.equal(row.checkpoint, join(plan.seedDir, 'stage2', 'train', 'last'));
      assert.equal(row.step, STEPS.stage1 + STEPS.stage2);
      assert.ok(row.rank >= 1 && row.rank <= 20);
      assert.ok(!positives.get(row.queryId)?.has(row.passageId), `${row.queryId}: judged positive ${row.passageId} mined as a negative`);
    }
    assert.ok(rows > split.ids.length, `${rows} negatives for ${split.ids.length} queries`);

    // status reads the state file.
    const status = await runSci(['pipeline', 'status', configFile], { env: cluster.env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`${plan.steps.length}/${plan.steps.length} steps done`));
    assert.match(status.stdout, /stage3\.r1\.mine\s+done .* job \S+ \(2 attempts\)/);
    assert.ok(existsSync(join(plan.seedDir, 'report.html')));
  },
);
