/* app.js: the CoopMine dashboard page.  Loads the REST API once, then
   stays current through the live feed (/ws): a stats snapshot each second
   and events as they happen.  Reconnects the feed by itself with backoff.
   No libraries: the chart is a few lines of canvas. */
'use strict';

const state = {
  config: null,
  stats: null,
  workers: [],
  series: { total: [] },   // name -> [[t, h], ...], last hour
  hidden: new Set(),
  sort: { key: 'hashrate', asc: false },
  blocks: [],
  payouts: new Map(),
  income: [],              // /api/income rows, newest first
  incomeSel: null,         // the income id whose explanation is shown
  shareTimes: [],
  live: { ws: null, tries: 0, timer: null, last: 0 },
};

const HOUR = 3600 * 1000;
const STEP = 5000;               // a chart point every 5 s
const COLORS = ['#5aa9ff', '#3ccf91', '#c792ea', '#ff8f66', '#4dd0e1',
  '#f48fb1', '#aed581', '#ffd54f', '#90a4ae', '#ba68c8'];
const TOTAL_COLOR = '#f7b955';
const $ = (id) => document.getElementById(id);

/* ---- formatting ---- */
function fmtRate(h) {
  if (!isFinite(h)) return '–';
  if (h === 0) return '0';
  const u = ['H/s', 'kH/s', 'MH/s', 'GH/s'];
  let i = 0;
  while (h >= 1000 && i < u.length - 1) { h /= 1000; i++; }
  return (h >= 100 ? h.toFixed(0) : h >= 10 ? h.toFixed(1) : h.toFixed(2)) + ' ' + u[i];
}
function fmtInt(n) { return Number(n || 0).toLocaleString('en-US'); }
function fmtDur(ms) {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return d + 'd ' + h + 'h';
  if (h) return h + 'h ' + m + 'm';
  if (m) return m + 'm ' + s + 's';
  return s + 's';
}
function fmtAgo(t) {
  if (!t) return 'never';
  const ms = Date.now() - t;
  return ms < 2000 ? 'just now' : fmtDur(ms) + ' ago';
}
function fmtClock(t) {
  const d = new Date(t);
  return d.toTimeString().slice(0, 8);
}
function fmtCoins(atomic) {
  return (Number(atomic) / 1e8).toLocaleString('en-US', { maximumFractionDigits: 8 });
}
/* Money: exact, from integer atomic units (8 decimals, coopmine-cli's
   default coin_decimals), as the CLI prints it: "1.50000000 (150000000)". */
const COIN_DECIMALS = 8;
function fmtAtomicCoins(v) {
  const unit = Math.pow(10, COIN_DECIMALS);
  const a = Math.abs(v), frac = a % unit;
  return (v < 0 ? '-' : '') + ((a - frac) / unit) + '.' + String(frac).padStart(COIN_DECIMALS, '0');
}
function money(v) {
  const s = el('span', 'money');
  s.append(el('span', 'coins', fmtAtomicCoins(v)), ' ',
    el('span', 'atomic', '(' + v + ')'));
  s.title = v + ' atomic units';
  return s;
}
/* A local date and time, as people read it: "2026-12-01 14:05:09". */
function fmtDate(t) {
  if (!t) return '–';
  const d = new Date(t), p = (n) => String(n).padStart(2, '0');
  return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
    p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
}
function fmtPct(f) { return (f * 100).toFixed(4) + '%'; }
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function setText(id, text) {
  const e = $(id);
  if (e.textContent !== text) {
    e.textContent = text;
    e.classList.remove('flash');
    void e.offsetWidth;
    e.classList.add('flash');
  }
}
function colorOf(id) {
  const ids = state.workers.map((w) => w.worker_id).sort();
  const i = ids.indexOf(id);
  return COLORS[(i < 0 ? 0 : i) % COLORS.length];
}

/* ---- REST ---- */
async function api(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}

async function loadAll() {
  const [config, stats, workers, hashrate, shares, jobs, blocks] = await Promise.all([
    api('api/config'), api('api/stats'), api('api/workers?limit=500'),
    api('api/hashrate'), api('api/shares?limit=30'), api('api/jobs?limit=15'),
    api('api/blocks?limit=10')]);
  state.config = config;
  $('version').textContent = 'CoopMine ' + config.version;
  state.series = { total: hashrate.total || [] };
  for (const [id, pts] of Object.entries(hashrate.workers || {})) state.series['w:' + id] = pts;
  onStats(Object.assign({}, stats, { workers: workers.workers }));
  shares.shares.slice().reverse().forEach((s) => addShare(s, false));
  jobs.jobs.slice().reverse().forEach((j) => addJob(j));
  state.blocks = blocks.blocks;
  await loadPayouts();
  renderBlocks();
  if (config.money) await loadMoney();
}

async function loadPayouts() {
  for (const b of state.blocks) {
    if (state.payouts.has(b.block_id)) continue;
    try { state.payouts.set(b.block_id, await api('api/payouts?block=' + b.block_id)); }
    catch (e) { /* the split appears on the next block event */ }
  }
}

/* ---- the live feed ---- */
function wsUrl() {
  const c = state.config;
  if (c.ws_url) return c.ws_url;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return proto + '//' + location.hostname + ':' + c.ws_port + c.ws_path;
}

function setLive(cls, text) {
  const b = $('live-badge');
  b.className = 'badge ' + cls;
  b.textContent = text;
}

function connect() {
  if (!state.config || state.config.ws_port === null && !state.config.ws_url) {
    setLive('warn', 'no live feed');
    return;
  }
  let ws;
  try { ws = new WebSocket(wsUrl()); } catch (e) { return retry(); }
  state.live.ws = ws;
  ws.onopen = () => { state.live.tries = 0; setLive('ok', 'live'); };
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch (e) { return; }
    state.live.last = Date.now();
    onMessage(msg);
  };
  ws.onclose = () => { state.live.ws = null; retry(); };
  ws.onerror = () => { /* onclose follows and schedules the retry */ };
}

function retry() {
  if (state.live.timer) return;
  const n = state.live.tries++;
  const delay = Math.min(30000, 1000 * Math.pow(2, n)) * (0.75 + Math.random() * 0.5);
  setLive('bad', 'reconnecting in ' + Math.ceil(delay / 1000) + 's');
  state.live.timer = setTimeout(() => { state.live.timer = null; setLive('warn', 'connecting'); connect(); }, delay);
}

/* A feed that went quiet (no snapshot for 5 s) is stale: reconnect. */
setInterval(() => {
  const ws = state.live.ws;
  if (ws && ws.readyState === 1 && state.live.last && Date.now() - state.live.last > 5000) ws.close();
}, 2000);

function onMessage(msg) {
  const d = msg.data || {};
  switch (msg.type) {
    case 'stats': onStats(d); break;
    case 'share': addShare(d, true); break;
    case 'job': if (d.job_id) addJob(d); break;
    case 'block':
      addEvent('block', 'Block ' + (d.height || '') + ' found by ' + (d.found_by || '?'), msg.time);
      state.blocks.unshift(d);
      state.blocks = state.blocks.slice(0, 10);
      loadPayouts().then(renderBlocks);
      break;
    case 'worker_joined': addEvent('event', (d.worker_id || '?') + ' joined', msg.time); break;
    case 'worker_left': addEvent('event', (d.worker_id || '?') + ' left', msg.time); break;
    case 'worker_offline': addEvent('event', (d.worker_id || '?') + ' went offline', msg.time); break;
    case 'pool_switch':
      addEvent('event', 'Pool ' + (d.connected ? 'connected: ' : 'lost: ') + (d.url || ''), msg.time);
      break;
    default: break;
  }
}

/* ---- snapshot: cards, table, chart ---- */
function onStats(s) {
  state.stats = s;
  if (Array.isArray(s.workers)) state.workers = s.workers;
  document.title = fmtRate(s.total_hashrate) + ' · ' + (s.cluster_name || 'CoopMine');
  $('cluster-name').textContent = s.cluster_name || 'CoopMine';
  $('cluster-id').textContent = s.cluster_id ? 'cluster ' + s.cluster_id : '';
  setText('c-hashrate', fmtRate(s.total_hashrate));
  const avg = s.workers_online ? s.total_hashrate / s.workers_online : 0;
  $('c-hashrate-hint').textContent = s.workers_online ? fmtRate(avg) + ' per worker' : 'nobody hashing';
  setText('c-workers', s.workers_online + ' / ' + s.workers_total);
  $('c-workers-hint').textContent = (s.workers_total - s.workers_online) + ' offline';
  setText('c-shares', fmtInt(s.shares_valid));
  const all = s.shares_valid + s.shares_invalid;
  $('c-shares-hint').textContent = fmtInt(s.shares_invalid) + ' invalid (' +
    (all ? (100 * s.shares_invalid / all).toFixed(1) : '0.0') + '%)';
  setText('c-blocks', fmtInt(s.blocks_found));
  $('c-blocks-hint').textContent = s.last_block_time ? 'last ' + fmtAgo(s.last_block_time) :
    s.blocks_found ? '' : 'none yet';
  $('c-uptime').textContent = fmtDur(s.uptime_ms);
  $('c-uptime-hint').textContent = 'verify queue ' + (s.verification ? s.verification.queue_depth : 0);
  const p = s.pool || {};
  $('c-pool').textContent = p.connected ? (p.latency_ms || 0).toFixed(0) + ' ms' : 'down';
  $('c-pool').className = 'value small';
  const n = p.node;
  if (n) {
    // solo mining on the cooperative's own node: its height, ages, peers
    // and why it does not mine (IBD, warm-up, 401) instead of a latency
    $('c-pool').textContent = p.connected ? 'height ' + fmtInt(n.height) :
      (n.ibd ? 'IBD' : 'waiting');
    $('c-pool-hint').textContent = n.waiting ? n.waiting :
      'tip ' + (n.tip_age_s == null ? '?' : n.tip_age_s.toFixed(0) + ' s') +
      ' · template ' + (n.template_age_s == null ? '?' : n.template_age_s.toFixed(0) + ' s') +
      ' · ' + (n.connections == null ? '?' : n.connections) + ' peers';
  } else {
    $('c-pool-hint').textContent = (p.url || '') + (p.switches ? ' · ' + p.switches + ' switches' : '');
  }
  const pb = $('pool-badge');
  pb.className = 'badge ' + (p.connected ? 'ok' : 'bad');
  pb.textContent = n ? (p.connected ? 'node connected' : n.ibd ? 'node in IBD' : 'node down') :
    p.connected ? 'pool connected' : 'pool down';
  sampleSeries(s);
  renderWorkers();
  renderLegend();
  drawChart();
  detailStats(s);
}

function pushPoint(arr, t, h) {
  const n = arr.length;
  // the newest point follows the live value; a new one every STEP
  if (n >= 2 && t - arr[n - 2][0] < STEP) arr[n - 1] = [t, h];
  else arr.push([t, h]);
  const cut = t - HOUR;
  while (arr.length && arr[0][0] < cut) arr.shift();
}

function sampleSeries(s) {
  const t = s.time || Date.now();
  pushPoint(state.series.total, t, s.total_hashrate);
  for (const w of state.workers) {
    const k = 'w:' + w.worker_id;
    if (!state.series[k]) state.series[k] = [];
    pushPoint(state.series[k], t, w.hashrate);
  }
}

function renderWorkers() {
  const { key, asc } = state.sort;
  const val = (w) => key === 'lease' ? (w.lease ? w.lease.progress : 0) : w[key];
  const rows = state.workers.slice().sort((a, b) => {
    const x = val(a), y = val(b);
    const c = typeof x === 'string' ? x.localeCompare(y) : (x || 0) - (y || 0);
    return asc ? c : -c;
  });
  const tb = document.querySelector('#workers tbody');
  const frag = document.createDocumentFragment();
  for (const w of rows) {
    const tr = el('tr');
    tr.dataset.worker = w.worker_id;
    const name = el('td');
    const dot = el('span', 'dot');
    dot.style.background = colorOf(w.worker_id);
    const n = el('span', 'wname', w.worker_id);
    name.append(dot, n);
    if (w.worker_name) name.append(el('div', 'wsub', w.worker_name + ' · ' + w.threads + ' threads'));
    const st = el('td');
    st.append(el('span', 'pill ' + w.status, w.status));
    const lease = el('td');
    const bar = el('span', 'bar');
    const fill = el('div');
    fill.style.width = Math.round(100 * (w.lease ? w.lease.progress : 0)) + '%';
    bar.append(fill);
    lease.append(bar, el('span', 'lease-txt', w.lease && w.lease.size ?
      Math.round(100 * w.lease.progress) + '% of ' + w.job_id : 'no lease'));
    tr.append(name, st,
      el('td', 'num', fmtRate(w.hashrate)),
      el('td', 'num', fmtInt(w.shares_valid) + ' / ' + fmtInt(w.shares_invalid)),
      el('td', 'num', (w.rejected_pct || 0).toFixed(1) + '%'),
      el('td', 'num', fmtAgo(w.last_seen)),
      lease);
    frag.append(tr);
  }
  tb.replaceChildren(frag);
  $('workers-count').textContent = state.workers.length + ' registered';
  document.querySelectorAll('#workers th').forEach((th) => {
    th.classList.toggle('sorted', th.dataset.key === key);
    th.classList.toggle('asc', th.dataset.key === key && asc);
  });
}

function renderLegend() {
  const lg = $('legend');
  const items = [['total', 'Total', TOTAL_COLOR]].concat(
    state.workers.map((w) => ['w:' + w.worker_id, w.worker_id, colorOf(w.worker_id)]));
  if (lg.dataset.keys === items.map((i) => i[0]).join('\n')) return;
  lg.dataset.keys = items.map((i) => i[0]).join('\n');
  lg.replaceChildren(...items.map(([k, label, c]) => {
    const s = el('span');
    const i = el('i');
    i.style.background = c;
    s.append(i, document.createTextNode(label));
    s.classList.toggle('off', state.hidden.has(k));
    s.onclick = () => {
      if (state.hidden.has(k)) state.hidden.delete(k); else state.hidden.add(k);
      s.classList.toggle('off', state.hidden.has(k));
      drawChart();
    };
    return s;
  }));
}

/* ---- the chart ---- */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function drawChart() {
  const cv = $('chart');
  const r = cv.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  if (r.width < 10 || r.height < 10) return;
  cv.width = Math.round(r.width * dpr);
  cv.height = Math.round(r.height * dpr);
  const g = cv.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  const W = r.width, H = r.height;
  const css = getComputedStyle(document.documentElement);
  const muted = css.getPropertyValue('--muted').trim() || '#8b97aa';
  const line = css.getPropertyValue('--line').trim() || '#263042';
  const L = 64, R = 10, T = 10, B = 24;
  const now = Date.now(), t0 = now - HOUR;
  const keys = Object.keys(state.series).filter((k) => !state.hidden.has(k) &&
    (k === 'total' || state.workers.some((w) => 'w:' + w.worker_id === k)));
  let max = 0;
  for (const k of keys) for (const p of state.series[k]) if (p[0] >= t0 && p[1] > max) max = p[1];
  max = niceMax(max * 1.08);
  const x = (t) => L + (W - L - R) * (t - t0) / HOUR;
  const y = (h) => T + (H - T - B) * (1 - h / max);
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = muted;
  g.strokeStyle = line;
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4, yy = Math.round(y(v)) + 0.5;
    g.beginPath(); g.moveTo(L, yy); g.lineTo(W - R, yy); g.stroke();
    g.fillText(fmtRate(v), L - 8, yy);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const every = W < 520 ? 20 : 10;
  for (let m = 60; m >= 0; m -= every) {
    const t = now - m * 60000;
    g.fillText(m ? '-' + m + ' min' : 'now', Math.min(Math.max(x(t), L + 18), W - R - 14), H - B + 7);
  }
  const draw = (k, color, width, fill) => {
    const pts = state.series[k].filter((p) => p[0] >= t0);
    if (pts.length < 2) return;
    g.beginPath();
    pts.forEach((p, i) => (i ? g.lineTo(x(p[0]), y(p[1])) : g.moveTo(x(p[0]), y(p[1]))));
    g.strokeStyle = color;
    g.lineWidth = width;
    g.lineJoin = 'round';
    g.stroke();
    if (fill) {
      g.lineTo(x(pts[pts.length - 1][0]), y(0));
      g.lineTo(x(pts[0][0]), y(0));
      g.closePath();
      const grad = g.createLinearGradient(0, T, 0, H - B);
      grad.addColorStop(0, 'rgba(247,185,85,0.28)');
      grad.addColorStop(1, 'rgba(247,185,85,0)');
      g.fillStyle = grad;
      g.fill();
    }
  };
  for (const k of keys) if (k !== 'total') draw(k, colorOf(k.slice(2)), 1.4, false);
  if (keys.includes('total')) draw('total', TOTAL_COLOR, 2.4, true);
}
window.addEventListener('resize', drawChart);

/* ---- feeds ---- */
function trim(list, n) { while (list.children.length > n) list.lastChild.remove(); }

function addShare(s, live) {
  const li = el('li');
  li.append(el('span', 't', fmtClock(s.time || Date.now())),
    el('span', 'tag ' + (s.status === 'valid' ? 'valid' : 'invalid'), s.status === 'valid' ? 'valid' : (s.reason || 'invalid')),
    el('span', 'w', s.worker_id || '?'),
    el('span', 'r', 'diff ' + fmtInt(Math.round(s.difficulty || 0))));
  if (s.is_block) li.append(el('span', 'tag blk', 'BLOCK'));
  $('shares').prepend(li);
  trim($('shares'), 40);
  const now = Date.now();
  state.shareTimes.push(live ? now : (s.time || now));
  state.shareTimes = state.shareTimes.filter((t) => now - t < 60000);
  $('shares-rate').textContent = state.shareTimes.length + ' in the last minute';
}

function addJob(j) {
  const li = el('li');
  li.append(el('span', 't', fmtClock(j.created_at || Date.now())), el('span', 'tag job', 'job'),
    el('span', 'w', j.job_id), el('span', 'r', 'height ' + fmtInt(j.height) + ' · diff ' + fmtInt(Math.round(j.difficulty || 0))));
  $('jobs').prepend(li);
  trim($('jobs'), 40);
}

function addEvent(kind, text, t) {
  const li = el('li');
  li.append(el('span', 't', fmtClock(t || Date.now())), el('span', 'tag ' + (kind === 'block' ? 'blk' : 'event'), kind === 'block' ? 'block' : 'event'),
    el('span', 'w', text));
  $('jobs').prepend(li);
  trim($('jobs'), 40);
}

function renderBlocks() {
  const box = $('blocks');
  if (!state.blocks.length) return;
  const frag = document.createDocumentFragment();
  for (const b of state.blocks) {
    const d = el('div', 'block');
    const head = el('div', 'block-head');
    head.append(el('b', '', 'Block #' + fmtInt(b.height)),
      el('span', 'muted', fmtAgo(b.time) + ' · found by ' + (b.found_by || '?') + ' · ' + (b.status || '')),
      el('span', 'muted', 'reward ' + fmtCoins(b.reward)));
    d.append(head, el('div', 'hash', b.hash || ''));
    const p = state.payouts.get(b.block_id);
    if (p && Array.isArray(p.parts)) {
      const total = p.parts.reduce((a, x) => a + Number(x.amount), 0) || 1;
      const split = el('div', 'split');
      const parts = el('div', 'parts');
      for (const x of p.parts) {
        const seg = el('div');
        seg.style.width = (100 * Number(x.amount) / total) + '%';
        seg.style.background = colorOf(x.worker_id);
        seg.title = x.worker_id;
        split.append(seg);
        const row = el('div');
        const who = el('span');
        const dot = el('span', 'dot');
        dot.style.background = colorOf(x.worker_id);
        who.append(dot, document.createTextNode(x.worker_id));
        row.append(who, el('span', '', fmtCoins(x.amount) + ' (' + (100 * Number(x.amount) / total).toFixed(1) + '%)'));
        parts.append(row);
      }
      d.append(split, parts);
      if (p.fee) d.append(el('div', 'muted', 'coordinator fee ' + fmtCoins(p.fee)));
    }
    frag.append(d);
  }
  box.replaceChildren(frag);
}

/* ---- money: income, its explanation, owner balances ---- */
// A td with a label, so that a phone can show each row as a card.
function cell(label, content, cls) {
  const td = el('td', cls);
  td.dataset.label = label;
  if (content instanceof Node) td.append(content); else td.textContent = content;
  return td;
}

async function loadMoney() {
  $('income-panel').hidden = false;
  $('balances-panel').hidden = false;
  try {
    const [inc, bal] = await Promise.all([api('api/income?limit=50'), api('api/balances')]);
    state.income = inc.income;
    renderIncome();
    renderBalances(bal.balances);
  } catch (e) {
    $('income-count').textContent = 'the ledger did not answer; retrying';
  }
}

function renderIncome() {
  const tb = document.querySelector('#income tbody');
  const frag = document.createDocumentFragment();
  for (const i of state.income) {
    const tr = el('tr', 'pick');
    tr.dataset.income = i.id;
    tr.tabIndex = 0;
    tr.setAttribute('role', 'button');
    tr.setAttribute('aria-label', 'Explain income ' + i.id);
    tr.classList.toggle('sel', i.id === state.incomeSel);
    const marks = el('td', 'marks');
    marks.dataset.label = 'Status';
    if (i.reverses) marks.append(el('span', 'tag rev', 'reversal of #' + i.reverses));
    if (i.reversed_by) marks.append(el('span', 'tag rev', 'reversed by #' + i.reversed_by));
    tr.append(cell('Date', fmtDate(i.at)),
      cell('Amount', money(i.reverses ? -i.amount : i.amount), 'num'),
      cell('Source', i.source), cell('Reference', i.ref, 'ref'), marks);
    tr.onclick = () => showExplain(i.id);
    tr.onkeydown = (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); showExplain(i.id); }
    };
    frag.append(tr);
  }
  tb.replaceChildren(frag);
  $('income-count').textContent = state.income.length ? state.income.length + ' shown, newest first' : 'none yet';
}

async function showExplain(id) {
  state.incomeSel = id;
  document.querySelectorAll('#income tbody tr').forEach((tr) =>
    tr.classList.toggle('sel', Number(tr.dataset.income) === id));
  const box = $('explain');
  box.replaceChildren(el('p', 'muted', 'Loading the explanation of income #' + id + '…'));
  try {
    const e = await api('api/income/' + id + '/explain');
    if (state.incomeSel !== id) return;
    box.replaceChildren(renderExplain(e));
    box.scrollIntoView({ block: 'nearest' });   // on a phone it is below the list
  } catch (err) {
    box.replaceChildren(el('p', 'warn', 'Income #' + id + ': ' + err.message));
  }
}

function fact(dl, key, term, ...content) {
  const dd = el('dd');
  dd.dataset.k = key;
  dd.append(...content);
  dl.append(el('dt', '', term), dd);
}

function renderExplain(e) {
  const i = e.income, w = e.window;
  const d = el('div', 'explain');
  d.dataset.income = i.id;
  const head = el('h3');
  head.append('Income #' + i.id + ': ', money(i.reverses ? -i.amount : i.amount));
  d.append(head, el('div', 'muted', fmtDate(i.at) + ' · ' + i.source + ' · ref ' + i.ref +
    (i.note ? ' · ' + i.note : '')));
  if (i.reverses) d.append(el('p', 'note', 'This is a reversal of income #' + i.reverses +
    ': its split below, negated, is taken back from each owner.'));
  if (i.reversed_by) d.append(el('p', 'note', 'Reversed by income #' + i.reversed_by +
    ': this split was taken back and no longer counts in the balances.'));
  if (e.warning) d.append(el('p', 'warn', 'Warning: ' + e.warning));
  d.append(el('p', '', e.scheme === 'prop' ?
    'Split in proportion to all share difficulty credited since the previous income. ' +
    'After the fee, each worker got its fraction of that difficulty; a worker\'s part ' +
    'went to its owners by their basis points.' :
    'Split by PPLNS over the last N units of share difficulty before this income. ' +
    'After the fee, each worker got its fraction of that difficulty; a worker\'s part ' +
    'went to its owners by their basis points.'));
  const dl = el('dl', 'facts');
  fact(dl, 'scheme', 'Scheme', e.scheme === 'prop' ? 'PROP' : 'PPLNS');
  fact(dl, 'n', 'Window N', fmtInt(e.window_n) + ', from ' + e.n_source);
  if (e.network_difficulty) fact(dl, 'netdiff', 'Network difficulty', fmtInt(e.network_difficulty));
  if (w.first_share_id) {
    fact(dl, 'first', 'First share', '#' + w.first_share_id + ' at ' + fmtDate(w.first_share_at));
    fact(dl, 'last', 'Last share', '#' + w.last_share_id + ' at ' + fmtDate(w.last_share_at));
  } else {
    fact(dl, 'first', 'Shares', 'none before this income: everything went to the fee owner');
  }
  fact(dl, 'window', 'In the window', fmtInt(w.shares) + (w.shares === 1 ? ' share' : ' shares') +
    ', difficulty ' + fmtInt(w.difficulty));
  fact(dl, 'fee', 'Fee', e.fee_bps + ' bps (' + (e.fee_bps / 100).toFixed(2) + '%) to ' +
    e.fee_owner + ': ', money(e.fee));
  const extra = [];
  for (const s of e.splits) {
    if (s.kind !== 'worker') continue;
    if (s.worker_remainder && !extra.includes(s.worker_id + ' (worker)')) extra.push(s.worker_id + ' (worker)');
    if (s.owner_remainder) extra.push(s.owner + ' via ' + s.worker_id + ' (owner)');
  }
  fact(dl, 'remainder', 'Rounding remainder', extra.length ?
    'one atomic unit each to ' + extra.join(', ') : 'none: every part divided exactly');
  d.append(dl);

  d.append(el('h4', '', 'Per worker'));
  const wt = table('explain-workers', ['Worker', 'Owner', 'Owner share', 'Difficulty', 'Shares',
    'Fraction', 'Worker part', 'Amount', 'Remainder'], [2, 3, 4, 5, 6, 7]);
  for (const s of e.splits) {
    if (s.kind !== 'worker') continue;
    const tr = el('tr');
    tr.dataset.worker = s.worker_id;
    tr.dataset.owner = s.owner;
    tr.append(cell('Worker', s.worker_id, 'wname'), cell('Owner', s.owner),
      cell('Owner share', s.bps + ' bps', 'num'), cell('Difficulty', fmtInt(s.difficulty), 'num'),
      cell('Shares', fmtInt(s.shares), 'num'), cell('Fraction', fmtPct(s.fraction), 'num'),
      cell('Worker part', money(s.worker_amount), 'num'), cell('Amount', money(s.amount), 'num'),
      cell('Remainder', [s.worker_remainder ? 'worker' : '', s.owner_remainder ? 'owner' : '']
        .filter(Boolean).join('+') || '–'));
    wt.tBodies[0].append(tr);
  }
  d.append(wrap(wt));

  d.append(el('h4', '', 'Per owner'));
  const ot = table('explain-owners', ['Owner', 'Difficulty', 'Fraction', 'Amount'], [1, 2, 3]);
  for (const o of e.owners) {
    const tr = el('tr');
    tr.dataset.owner = o.owner;
    tr.append(cell('Owner', o.owner, 'wname'), cell('Difficulty', fmtInt(o.difficulty), 'num'),
      cell('Fraction', fmtPct(o.fraction), 'num'), cell('Amount', money(o.amount), 'num'));
    ot.tBodies[0].append(tr);
  }
  const fee = el('tr', 'fee');
  fee.dataset.owner = e.fee_owner;
  fee.append(cell('Owner', e.fee_owner + ' (fee)', 'wname'), cell('Difficulty', '–', 'num'),
    cell('Fraction', (e.fee_bps / 100).toFixed(2) + '% of the amount', 'num'),
    cell('Amount', money(e.fee), 'num'));
  ot.tBodies[0].append(fee);
  d.append(wrap(ot));
  return d;
}

function table(id, heads, numeric) {
  const t = el('table', 'stack');
  t.id = id;
  const tr = el('tr');
  heads.forEach((h, k) => tr.append(el('th', numeric.includes(k) ? 'num' : '', h)));
  t.append(el('thead'), el('tbody'));
  t.tHead.append(tr);
  return t;
}
function wrap(t) { const w = el('div', 'table-wrap'); w.append(t); return w; }

function renderBalances(rows) {
  const tb = document.querySelector('#balances tbody');
  const frag = document.createDocumentFragment();
  for (const b of rows) {
    const tr = el('tr');
    tr.dataset.owner = b.name;
    const who = el('td');
    who.dataset.label = 'Owner';
    who.append(el('span', 'wname', b.name));
    if (b.address) who.append(el('div', 'wsub hash', b.address));
    tr.append(who, cell('Credited', money(b.credited), 'num'), cell('Paid', money(b.paid), 'num'),
      cell('Balance', money(b.balance), 'num'), cell('Immature', money(b.immature), 'num'),
      cell('Payable', money(b.payable), 'num'));
    frag.append(tr);
  }
  if (!rows.length) {
    const tr = el('tr');
    tr.append(el('td', 'muted', 'No owners yet.'));
    frag.append(tr);
  }
  tb.replaceChildren(frag);
}

/* ---- start ---- */
function initSorting() {
  document.querySelectorAll('#workers th').forEach((th) => {
    th.addEventListener('click', () => {
      const k = th.dataset.key;
      if (state.sort.key === k) state.sort.asc = !state.sort.asc;
      else state.sort = { key: k, asc: k === 'worker_id' || k === 'status' };
      renderWorkers();
    });
  });
}

async function start() {
  initSorting();
  detailInit();
  for (let i = 0; ; i++) {
    try {
      await loadAll();
      break;
    } catch (e) {
      setLive('bad', 'coordinator unreachable');
      await new Promise((r) => setTimeout(r, Math.min(30000, 1000 * Math.pow(2, i))));
    }
  }
  connect();
  detailOpen(workerFromHash());
  // "last seen" and block ages move even when nothing else does
  setInterval(() => { renderWorkers(); if (state.blocks.length) renderBlocks(); }, 5000);
  // income arrives rarely (a pool payment, the CLI): a slow poll is enough
  if (state.config.money) setInterval(loadMoney, 30000);
}

document.addEventListener('DOMContentLoaded', start);
