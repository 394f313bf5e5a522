import { createHash } from 'node:crypto';
/*
 * The dashboard (/ui): one self-contained page, no build step and nothing
 * fetched from elsewhere. It follows /v1/events (server-sent events: a
 * snapshot, then each job that changed and the worker list), and searches
 * through POST /v1/search with `fields` so hits show their passage. All
 * text from the cluster is inserted as text, never as HTML.
 */

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1d2330; --muted:#6b7385; --line:#e3e6ec; --accent:#2f6fdf; --done:#2e9d61; --run:#2f6fdf; --fail:#d2463c; --cancel:#9aa1ad; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:baseline; gap:16px; padding:14px 24px; background:#1d2330; color:#fff; }
header h1 { font-size:18px; margin:0; font-weight:600; letter-spacing:.2px; }
header .meta { color:#aab3c5; font-size:13px; }
header .conn { margin-left:auto; font-size:12px; color:#aab3c5; }
header .conn.live::before { content:"●"; color:#4cd38a; margin-right:6px; }
main { display:grid; grid-template-columns: minmax(0,3fr) minmax(0,2fr); gap:20px; padding:20px 24px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 18px; }
section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); margin:0 0 12px; font-weight:600; }
.jobs { grid-row: span 2; align-self: start; }
.job { border-top:1px solid var(--line); padding:12px 0; }
.job:first-of-type { border-top:none; padding-top:0; }
.job .top { display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; }
.job .id { font-family:ui-monospace,Menlo,Consolas,monospace; font-size:12.5px; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; color:#fff; background:var(--muted); }
.badge.done { background:var(--done); } .badge.running,.badge.planning { background:var(--run); } .badge.failed { background:var(--fail); } .badge.cancelled { background:var(--cancel); }
.job .stats { color:var(--muted); font-size:12.5px; margin-left:auto; }
.bar { height:8px; background:#edf0f5; border-radius:4px; overflow:hidden; }
.bar > i { display:block; height:100%; background:var(--run); transition:width .4s ease; }
.bar.done > i { background:var(--done); } .bar.failed > i { background:var(--fail); } .bar.cancelled > i { background:var(--cancel); }
.jobbar { margin:8px 0 6px; height:10px; }
.shards { display:grid; grid-template-columns: repeat(auto-fill, minmax(150px,1fr)); gap:6px 12px; }
.shard { font-size:11.5px; color:var(--muted); }
.shard .bar { height:6px; margin-top:2px; }
.error { color:var(--fail); font-size:12.5px; margin-top:4px; }
table { width:100%; border-collapse:collapse; font-size:12.5px; }
th { text-align:left; color:var(--muted); font-weight:600; border-bottom:1px solid var(--line); padding:4px 6px; }
th.num { text-align:right; }
td { border-bottom:1px solid var(--line); padding:5px 6px; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
form { display:flex; flex-wrap:wrap; gap:8px; align-items:center; }
input[type=text] { flex:1 1 260px; padding:8px 10px; border:1px solid var(--line); border-radius:6px; font:inherit; }
input[type=number] { width:84px; padding:7px 8px; border:1px solid var(--line); border-radius:6px; font:inherit; }
select { padding:7px 8px; border:1px solid var(--line); border-radius:6px; font:inherit; background:#fff; }
button { padding:8px 16px; border:0; border-radius:6px; background:var(--accent); color:#fff; font:inherit; font-weight:600; cursor:pointer; }
label.small { font-size:12.5px; color:var(--muted); display:flex; gap:4px; align-items:center; }
.hits { margin-top:12px; }
.hit { border-top:1px solid var(--line); padding:8px 0; }
.hit .title { font-weight:600; }
.hit .text { color:#333a48; margin-top:2px; }
.hit .where { color:var(--muted); font-size:12px; font-family:ui-monospace,Menlo,Consolas,monospace; }
.empty { color:var(--muted); font-style:italic; }
.searchmeta { color:var(--muted); font-size:12px; margin-top:8px; }
`;

const SCRIPT = `
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) k === 'class' ? (node.className = v) : node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};
const fmt = (n) => n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? Math.round(n / 1e3) + 'k' : String(Math.round(n));
const jobs = new Map();
let workers = [];
function bar(fraction, state, cls = '') {
  const b = el('div', { class: 'bar ' + cls + ' ' + (state || '') });
  b.append(el('i', { style: 'width:' + Math.round(Math.max(0, Math.min(1, fraction)) * 100) + '%' }));
  return b;
}
function shardFraction(s) {
  if (s.state === 'done') return 1;
  if (s.state === 'running') return s.total > 0 ? Math.min(0.98, s.rows / s.total) : 0.5;
  return 0;
}
function renderJob(job) {
  const node = el('div', { class: 'job', 'data-job': job.id, 'data-state': job.state });
  const eta = job.etaSeconds != null && job.state === 'running' ? ', ETA ' + Math.ceil(job.etaSeconds) + ' s' : '';
  node.append(el('div', { class: 'top' },
    el('span', { class: 'badge ' + job.state }, job.state),
    el('strong', {}, job.kind),
    el('span', { class: 'id' }, job.id),
    el('span', { class: 'stats' }, 'stage ' + job.stage + ' (' + (job.stageIndex + 1) + '/' + job.stages.length + ') · ' + job.done + '/' + job.total + ' shards · ' + fmt(job.rowsPerSecond) + ' rows/s' + eta + (job.attempt ? ' · retry ' + job.attempt : ''))));
  // The whole job: finished stages, plus the current stage's share done (the shard bars show the current stage).
  const stageFraction = job.total > 0 ? job.shards.reduce((s, x) => s + shardFraction(x), 0) / job.total : 0;
  const fraction = (job.stageIndex + stageFraction) / Math.max(1, job.stages.length);
  node.append(bar(job.state === 'done' ? 1 : fraction, job.state === 'done' ? 'done' : job.state, 'jobbar'));
  const shards = el('div', { class: 'shards' });
  for (const s of job.shards) {
    const label = 'shard ' + s.shard + ' · ' + s.state + (s.rows ? ' · ' + fmt(s.rows) + ' rows' : '') + (s.state === 'running' && s.rowsPerSecond ? ' · ' + fmt(s.rowsPerSecond) + '/s' : '');
    shards.append(el('div', { class: 'shard', 'data-shard': s.shard, 'data-state': s.state }, label, bar(shardFraction(s), s.state)));
  }
  node.append(shards);
  if (job.error && job.state !== 'cancelled') node.append(el('div', { class: 'error' }, job.error));
  return node;
}
function renderJobs() {
  const list = $('#jobs');
  list.replaceChildren();
  const sorted = [...jobs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (sorted.length === 0) list.append(el('div', { class: 'empty' }, 'No jobs yet: sci job submit …'));
  for (const job of sorted) list.append(renderJob(job));
}
function renderWorkers() {
  const body = $('#workers tbody');
  body.replaceChildren();
  for (const w of workers) body.append(el('tr', { 'data-worker': w.id },
    el('td', {}, w.id.replace(/^worker-/, '')), el('td', {}, w.status),
    el('td', {}, w.encoder ? w.encoder.engine + (w.encoder.provider ? '/' + w.encoder.provider : '') : w.backend),
    el('td', { class: 'num' }, w.busyThreads + '/' + w.threads), el('td', { class: 'num' }, w.tasksDone), el('td', { class: 'num' }, fmt(w.rowsDone))));
  if (workers.length === 0) body.append(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No live workers')));
}
async function refreshServed() {
  const res = await fetch('/v1/index-set');
  if (!res.ok) return;
  const set = await res.json();
  $('#setname').textContent = set.key;
  const select = $('#index');
  if (select.options.length === 0) for (const name of set.indexes.map((i) => i.name)) select.append(el('option', { value: name }, name));
  const body = $('#shards tbody');
  body.replaceChildren();
  for (const s of set.shards) body.append(el('tr', {}, el('td', {}, s.id), el('td', { class: 'num' }, fmt(s.rows)), el('td', { class: 'num' }, s.answers), el('td', { class: 'num' }, s.answers ? s.meanMs.toFixed(2) + ' ms' : '–')));
  $('#indexes').textContent = set.indexes.map((i) => i.name + ' (' + i.factory + (i.nprobe ? ', nprobe ' + i.nprobe : '') + ')').join(' · ');
}
async function refreshServers() {
  const res = await fetch('/v1/servers');
  if (!res.ok) return;
  const body = $('#servers tbody');
  body.replaceChildren();
  const servers = await res.json();
  if (servers.length === 0) body.append(el('tr', {}, el('td', { colspan: 4, class: 'empty' }, 'No shard server answered')));
  for (const s of servers) body.append(el('tr', { 'data-server': s.pid },
    el('td', {}, 'pid ' + s.pid + ' @ ' + s.host), el('td', {}, s.shards.join(',')),
    el('td', {}, s.indexes.join(', ')), el('td', { class: 'num' }, s.answered + (s.refused ? ' (' + s.refused + ' refused)' : ''))));
}
async function refreshReports() {
  const res = await fetch('/v1/reports');
  if (!res.ok) return;
  const list = $('#reports');
  list.replaceChildren();
  const reports = await res.json();
  if (reports.length === 0) list.append(el('li', { class: 'empty' }, 'none (api.reports names the folder)'));
  for (const r of reports) {
    const a = el('a', { href: r.url, target: '_blank', rel: 'noopener' }, r.name);
    list.append(el('li', {}, a, ' · ' + r.modifiedAt.slice(0, 16).replace('T', ' ')));
  }
}
function connect() {
  const events = new EventSource('/v1/events');
  events.addEventListener('snapshot', (e) => {
    const data = JSON.parse(e.data);
    jobs.clear();
    for (const job of data.jobs) jobs.set(job.id, job);
    workers = data.workers;
    renderJobs(); renderWorkers();
    $('#conn').className = 'conn live'; $('#conn').textContent = 'live';
  });
  events.addEventListener('jobs', (e) => { for (const job of JSON.parse(e.data)) jobs.set(job.id, job); renderJobs(); });
  events.addEventListener('workers', (e) => { workers = JSON.parse(e.data); renderWorkers(); });
  events.onerror = () => { $('#conn').className = 'conn'; $('#conn').textContent = 'reconnecting…'; };
}
$('#search').addEventListener('submit', async (e) => {
  e.preventDefault();
  const index = $('#index').value;
  const body = { index, query: $('#query').value, k: Number($('#k').value) || 10, fields: ['title', 'text'] };
  if ($('#hybrid').checked && index !== 'bm25') body.hybrid = { bm25Weight: 1, denseWeight: 1 };
  if ($('#nprobe').value) body.nprobe = Number($('#nprobe').value);
  if ($('#ef').value) body.efSearch = Number($('#ef').value);
  const out = $('#hits');
  out.replaceChildren(el('div', { class: 'empty' }, 'searching…'));
  const res = await fetch('/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json();
  out.replaceChildren();
  if (!res.ok) { out.append(el('div', { class: 'error' }, answer.error.message)); return; }
  const hits = answer.results[0].hits;
  if (hits.length === 0) out.append(el('div', { class: 'empty' }, 'no hits'));
  hits.forEach((h, i) => out.append(el('div', { class: 'hit' },
    el('div', { class: 'title' }, (i + 1) + '. ' + (h.title || h.id)),
    el('div', { class: 'text' }, h.text || ''),
    el('div', { class: 'where' }, h.id + ' · score ' + h.score.toFixed(4) + ' · shard ' + h.shard + ' · row ' + h.rowId))));
  out.append(el('div', { class: 'searchmeta' }, answer.ms.toFixed(1) + ' ms · ' + answer.counters.ndis + ' distances' + (answer.partial ? ' · PARTIAL: ' + answer.missingShards.map((m) => 'shard ' + m.shard).join(', ') : '')));
  refreshServed();
  refreshServers();
});
connect();
refreshServed();
refreshReports();
refreshServers();
setInterval(refreshServed, 5000);
setInterval(refreshServers, 5000);
setInterval(refreshReports, 15000);
`;

/**
 * The dashboard's Content-Security-Policy: its one inline script by hash and nothing else (stored markup in
 * passages can never run), requests to this origin only, no framing, forms to this origin.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  `script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>sci-cluster</title><style>${STYLE}</style></head>
<body>
<header><h1>sci-cluster</h1><span class="meta" id="setname"></span><span class="conn" id="conn">connecting…</span></header>
<main>
<section class="jobs"><h2>Jobs</h2><div id="jobs"></div></section>
<section><h2>Search</h2>
<form id="search">
<input type="text" id="query" placeholder="a query, e.g. the dog barked all night" required>
<select id="index" title="index"></select>
<input type="number" id="k" value="5" min="1" max="100" title="k">
<label class="small"><input type="checkbox" id="hybrid"> hybrid</label>
<label class="small">nprobe <input type="number" id="nprobe" min="1"></label>
<label class="small">efSearch <input type="number" id="ef" min="1"></label>
<button type="submit">Search</button>
</form>
<div class="hits" id="hits"></div></section>
<section><h2>Workers</h2>
<table id="workers"><thead><tr><th>worker</th><th>status</th><th>encoder</th><th class="num">busy</th><th class="num">tasks</th><th class="num">rows</th></tr></thead><tbody></tbody></table>
<h2 style="margin-top:18px">Shard servers</h2>
<table id="servers"><thead><tr><th>server</th><th>shards</th><th>indexes</th><th class="num">answered</th></tr></thead><tbody></tbody></table>
<h2 style="margin-top:18px">Reports</h2>
<ul id="reports" class="searchmeta"></ul>
<h2 style="margin-top:18px">Served shards</h2>
<div class="searchmeta" id="indexes"></div>
<table id="shards"><thead><tr><th>shard</th><th class="num">rows</th><th class="num">answers</th><th class="num">mean</th></tr></thead><tbody></tbody></table>
</section>
</main>
<script>${SCRIPT}</script>
</body></html>`;
}

/** The page asking for the API token (it is kept in an HttpOnly cookie). */
export function loginPage(failed: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sci-cluster — sign in</title><style>${STYLE}
.login { max-width:420px; margin:80px auto; }</style></head>
<body><header><h1>sci-cluster</h1></header>
<section class="login"><h2>API token</h2>
<form method="post" action="/ui"><input type="password" name="token" placeholder="api.token" autocomplete="off" required><button type="submit">Open</button></form>
${failed ? '<div class="error">That token is not the API token.</div>' : ''}
</section></body></html>`;
}
