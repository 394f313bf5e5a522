import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { readManifest, readShardPassages } from '../../shards/index.js';
import { TestCluster } from '../support/cluster.js';
import { runSci, startSci, type RunningSci } from '../support/cli.js';
import { REPO_ROOT, tempDir } from '../support/paths.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';

/*
 * The dashboard in a real browser (Debian's Chromium, driven by
 * playwright-core): signed in with the API token, it follows a job submitted
 * with the CLI live until every shard's bar is full, lists the workers, and a
 * search from its form shows hits with the passage text of their Arrow rows.
 * The screenshot is kept under out/test-artifacts/.
 */

const TOKEN = 'dashboard-test-token-0123456789';
/** What the page's bars are, seen from here (no DOM types in this project). */
type StyledElement = { style: { width: string } };
const ARTIFACTS = process.env.SCI_TEST_ARTIFACTS ?? join(REPO_ROOT, 'out', 'test-artifacts');

test('the /ui dashboard follows a job to done, lists workers, and searches with passage text', { timeout: 420_000 }, async (t) => {
  const dir = tempDir(t);
  // A BM25-only index set is enough for the page's search: no embeddings to make.
  const { passages } = await wordnetFixture(dir, 4);
  const indexes = join(dir, 'indexes');
  await runJobLocally({ kind: 'index', input: null, output: indexes, indexes: [], bm25: { passages } }, new FsStorage('/'), { threads: 2 });
  const cluster = await TestCluster.start({ dir, workers: 2 });
  t.after(() => cluster.stop());
  const processes: RunningSci[] = [];
  t.after(async () => {
    for (const p of processes) await p.stop('SIGKILL');
  });
  const env = (role: 'shard-server' | 'api' | 'cli') => ({ ...cluster.env, ...cluster.roleEnv(role), SCI_LOG__LEVEL: 'warn' });
  processes.push(await startSci(['serve', 'shards', '--index-set', indexes], { env: env('shard-server') }));
  // An evaluation report the dashboard should link to (any report.html under api.reports).
  mkdirSync(join(dir, 'reports', 'run-a'), { recursive: true });
  writeFileSync(join(dir, 'reports', 'run-a', 'report.html'), '<!doctype html><title>run a</title><p>Recall@10 0.5</p>');
  const api = await startSci(['serve', 'api', '--index-set', indexes, '--port', '0', '--grpc-port', '0'], {
    env: { ...env('api'), SCI_API__TOKEN: TOKEN, SCI_API__REPORTS: join(dir, 'reports') },
  });
  processes.push(api);
  const { rest } = JSON.parse(api.firstLine) as { rest: string };

  // Without the token: the sign-in page, and the data routes refuse.
  const signIn = await fetch(`${rest}/ui`);
  assert.equal(signIn.status, 200);
  assert.match(await signIn.text(), /API token/);
  // Security headers: no sniffing or framing; the page may run only its own script (by hash).
  assert.equal(signIn.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(signIn.headers.get('x-frame-options'), 'DENY');
  assert.match(signIn.headers.get('content-security-policy') ?? '', /script-src 'sha256-[A-Za-z0-9+/=]+'; .*frame-ancestors 'none'/);
  assert.equal((await fetch(`${rest}/v1/events`)).status, 401);
  const signInWith = (token: string) =>
    fetch(`${rest}/ui`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
  assert.equal((await signInWith('wrong-token-0123456789')).status, 401);
  // A token in the URL is never read (it would sit in logs and history): the sign-in page, no cookie.
  const inUrl = await fetch(`${rest}/ui?token=${TOKEN}`, { redirect: 'manual' });
  assert.equal(inUrl.status, 200);
  assert.equal(inUrl.headers.get('set-cookie'), null);
  assert.match(await inUrl.text(), /API token/);
  const signedIn = await signInWith(TOKEN);
  assert.equal(signedIn.status, 303);
  assert.doesNotMatch(signedIn.headers.get('set-cookie') ?? '', new RegExp(TOKEN), 'the cookie is not the token');

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${rest}/ui`);
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(`${rest}/ui`), page.click('button[type=submit]')]);
  assert.equal(new URL(page.url()).search, '', 'the token never enters the address bar: the form posts it for an HttpOnly cookie');
  await page.waitForSelector('#conn.live', { timeout: 30_000 });
  await page.waitForSelector('#workers tbody tr[data-worker]', { timeout: 30_000 });
  assert.equal(await page.locator('#workers tbody tr[data-worker]').count(), 2);

  // A job submitted with the CLI: the page shows it live, shard by shard, until done.
  const submitted = await runSci(['job', 'submit', '--kind', 'encode', '--input', passages, '--output', join(dir, 'emb2'), '--dim', '64', '--json'], {
    env: env('cli'),
  });
  assert.equal(submitted.code, 0, submitted.stderr);
  const jobId = (JSON.parse(submitted.stdout) as { id: string }).id;
  const job = page.locator(`[data-job="${jobId}"]`);
  const seen: string[] = [];
  for (const deadline = Date.now() + 180_000; ;) {
    if ((await job.count()) > 0) {
      const state = await job.getAttribute('data-state');
      const width = await job.locator('.jobbar > i').evaluate((i) => (i as unknown as StyledElement).style.width);
      const view = `${state} ${width}`;
      if (seen.at(-1) !== view) seen.push(view);
      if (state === 'done') break;
    }
    assert.ok(Date.now() < deadline, `the job never showed done: ${seen.join(' → ')}`);
    await sleep(50);
  }
  t.diagnostic(`job bar: ${seen.join(' → ')}`);
  assert.ok(seen.length >= 2 && !seen[0]!.startsWith('done'), `seen before done: ${seen.join(' → ')}`);
  assert.equal(seen.at(-1), 'done 100%');
  // The job bar covers the whole job (fit, then encode): it never moves back when a stage starts.
  const widths = seen.map((v) => Number(/(\d+)%$/.exec(v)?.[1] ?? 0));
  assert.ok(
    widths.every((w, i) => i === 0 || w >= widths[i - 1]!),
    `job bar went back: ${seen.join(' → ')}`,
  );
  assert.equal(await job.locator('.shard[data-state="done"]').count(), 4, 'every shard of the last stage done');
  for (const width of await job.locator('.shard .bar > i').evaluateAll((bars) => bars.map((b) => (b as unknown as StyledElement).style.width)))
    assert.equal(width, '100%');
  assert.equal((await cluster.job(jobId))!.state, 'done');

  // A search from the form: hits carry the title and text of their Arrow rows.
  await page.fill('#query', 'the dog barked all night');
  await page.selectOption('#index', 'bm25');
  await page.click('#search button[type=submit]');
  await page.waitForSelector('#hits .hit', { timeout: 30_000 });
  const hits = await page.locator('#hits .hit').evaluateAll((nodes) =>
    nodes.map((n) => ({
      title: n.querySelector('.title')!.textContent!,
      text: n.querySelector('.text')!.textContent!,
      row: Number(/row (\d+)/.exec(n.querySelector('.where')!.textContent!)![1]),
    })),
  );
  assert.equal(hits.length, 5);
  const { manifest, dir: setDir } = readManifest(passages);
  const rows = new Map<number, { title: string; text: string }>();
  for (const shard of manifest.shards) for await (const p of readShardPassages(setDir, shard)) rows.set(p.rowId, { title: p.title, text: p.text });
  hits.forEach((hit, i) => {
    const row = rows.get(hit.row)!;
    assert.equal(hit.text, row.text, `hit ${i + 1}'s text is its row's`);
    assert.equal(hit.title, `${i + 1}. ${row.title}`);
  });
  await page.waitForFunction("document.querySelector('#shards tbody').children.length === 4");
  // The shard server answers the roll call with its shards, indexes and the requests it answered.
  await page.waitForSelector('#servers tbody tr[data-server]', { timeout: 15_000 });
  // The table refreshes every 5 s: the roll call before the search showed 0 answered.
  await page.waitForFunction("/\\sbm25\\s+[1-9]/.test(document.querySelector('#servers tbody tr[data-server]').innerText)", undefined, { timeout: 15_000 });
  const server = await page.locator('#servers tbody tr[data-server]').first().innerText();
  assert.match(server, /pid \d+ @ \S+\s+0,1,2,3\s+bm25\s+[1-9]\d*/);
  // The report link opens the report; nothing outside the reports folder is served.
  const link = page.locator('#reports a', { hasText: 'run-a' });
  assert.equal(await link.getAttribute('href'), '/reports/run-a/report.html');
  const opened = await page.request.get(`${rest}/reports/run-a/report.html`);
  assert.equal(opened.status(), 200);
  assert.match(await opened.text(), /Recall@10 0\.5/);
  assert.equal((await page.request.get(`${rest}/reports/..%2F..%2Fetc%2Fpasswd`)).status(), 404);
  assert.equal((await fetch(`${rest}/reports/run-a/report.html`)).status, 401, 'reports need the token too');

  mkdirSync(ARTIFACTS, { recursive: true });
  const screenshot = join(ARTIFACTS, 'dashboard.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  t.diagnostic(`screenshot: ${screenshot}`);
  assert.deepEqual(pageErrors, [], 'no script errors on the page');
});
