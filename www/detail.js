/* detail.js: the per-worker page (#worker=ID: what it reports, what its
   credited shares prove, its chart over 1 h / 24 h / 7 d drawn as SVG,
   its rejections by reason) and the pool panel (every upstream session,
   the outbox, verification and the ledger's commit times).  app.js calls
   detailStats() with every snapshot of the live feed; the 24 h and 7 d
   charts come hour by hour from /api/workers/ID/history. */
'use strict';

const detail = { id: null, range: '1h', hours: [], loadedAt: 0, loading: false };
const SVGNS = 'http://www.w3.org/2000/svg';
const EFF = ['1m', '10m', '1h', '12h', '24h'];

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function workerFromHash() {
  const m = /^#worker=(.+)$/.exec(location.hash);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch (e) { return null; }
}

/* Opens (or closes, id null) the worker page. */
function detailOpen(id) {
  detail.id = id;
  detail.hours = [];
  detail.loadedAt = 0;
  const panel = $('worker-panel');
  panel.hidden = id === null;
  if (id === null) return;
  $('wd-title').textContent = id;
  detailRender();
  detailLoad();
  panel.scrollIntoView({ block: 'start' });
}

async function detailLoad() {
  if (!detail.id || detail.range === '1h' || detail.loading) return;
  detail.loading = true;
  const id = detail.id, range = detail.range;
  try {
    const h = await api('api/workers/' + encodeURIComponent(id) + '/history?range=' + range);
    if (detail.id === id && detail.range === range) {
      detail.hours = h.hours || [];
      detail.loadedAt = Date.now();
    }
  } catch (e) {
    detail.hours = [];
    detail.loadedAt = Date.now();
  } finally {
    detail.loading = false;
  }
  detailChart();
}

function fact2(dl, term, value, id) {
  const d = el('div', 'wfact');
  const v = el('dd', null, value);
  if (id) v.id = id;
  d.append(el('dt', null, term), v);
  dl.append(d);
}

function detailRender() {
  const w = (state.workers || []).find((x) => x.worker_id === detail.id);
  const dl = $('wd-facts');
  if (!w) {
    dl.replaceChildren(el('p', 'muted', 'No such worker.'));
    return;
  }
  $('wd-status').className = 'pill ' + w.status;
  $('wd-status').textContent = w.status;
  const rep = w.hashrate_reported || {};
  const eff = w.effective_hashrate || {};
  dl.replaceChildren();
  fact2(dl, 'Reported 10 s / 60 s / 15 min',
    [rep['10s'], rep['60s'], rep['15m']].map(fmtRate).join(' · '), 'wd-reported');
  fact2(dl, 'Effective (credited) 1 m / 10 m / 1 h',
    [eff['1m'], eff['10m'], eff['1h']].map(fmtRate).join(' · '), 'wd-effective');
  fact2(dl, 'Effective 12 h / 24 h', [eff['12h'], eff['24h']].map(fmtRate).join(' · '));
  fact2(dl, 'Share difficulty', fmtInt(w.difficulty), 'wd-difficulty');
  fact2(dl, 'Shares accepted / rejected',
    fmtInt((w.verdicts || {}).accepted) + ' / ' + fmtInt(w.shares_invalid), 'wd-shares');
  fact2(dl, 'Last share', fmtAgo(w.last_share_at), 'wd-last-share');
  fact2(dl, 'Address', w.address || '–');
  fact2(dl, 'Version · OS · arch', [w.version || '?', w.os || '?', w.arch || '?'].join(' · '));
  fact2(dl, 'Threads', String(w.threads_running || w.threads || 0));
  fact2(dl, 'RandomX', (w.randomx_mode || 'not reported yet') +
    (w.huge_pages ? ' · ' + w.huge_pages + ' (' + fmtInt(w.huge_pages_used) + ' × 2 MiB)' : ''),
  'wd-randomx');
  fact2(dl, 'Access', w.quarantined ? 'quarantined: ' + w.denied_reason :
    w.revoked ? 'revoked: ' + w.denied_reason : 'allowed', 'wd-access');
  detailRejections(w);
  detailChart();
}

function detailRejections(w) {
  const box = $('wd-rejections');
  const rej = Object.entries(w.rejections || {}).sort((a, b) => b[1] - a[1]);
  const acc = (w.verdicts || {}).accepted || 0;
  const all = rej.reduce((s, r) => s + r[1], acc);
  const rows = [['accepted', acc]].concat(rej);
  box.replaceChildren(...rows.map(([reason, n]) => {
    const row = el('div', 'rej' + (reason === 'accepted' ? ' acc' : ''));
    row.dataset.reason = reason;
    const bar = el('span', 'bar');
    const fill = el('div');
    fill.style.width = (all ? Math.round(100 * n / all) : 0) + '%';
    bar.append(fill);
    row.append(el('span', 'rname', reason.replace(/_/g, ' ')), bar,
      el('span', 'rcount', fmtInt(n)));
    return row;
  }));
  if (!rej.length) box.append(el('p', 'muted', 'No share of it was rejected.'));
}

/* The chart: [t, H/s] points; 1 h from the live series, else hours. */
function detailPoints() {
  if (detail.range === '1h') {
    const t0 = Date.now() - HOUR;
    return (state.series['w:' + detail.id] || []).filter((p) => p[0] >= t0);
  }
  return detail.hours.map((h) => [h[0] + HOUR / 2, h[1]]);
}

function detailChart() {
  const svg = $('wd-chart');
  if (!detail.id || !svg) return;
  // the drawing is as wide as the screen shows it, so text keeps its shape
  const W = Math.max(280, Math.round(svg.getBoundingClientRect().width) || 600);
  const H = 200, L = 56, R = 8, T = 8, B = 22;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const span = detail.range === '7d' ? 7 * 24 * HOUR : detail.range === '24h' ? 24 * HOUR : HOUR;
  const now = Date.now(), t0 = now - span;
  const pts = detailPoints();
  const max = niceMax(Math.max(0, ...pts.map((p) => p[1])) * 1.08);
  const x = (t) => L + (W - L - R) * (t - t0) / span;
  const y = (h) => T + (H - T - B) * (1 - h / max);
  const kids = [];
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4, yy = y(v);
    kids.push(svgEl('line', { x1: L, x2: W - R, y1: yy, y2: yy, class: 'grid' }));
    const t = svgEl('text', { x: L - 6, y: yy + 4, 'text-anchor': 'end', class: 'axis' });
    t.textContent = fmtRate(v);
    kids.push(t);
  }
  const ticks = detail.range === '1h' ? [60, 30, 0].map((m) => [m * 60000, m ? '-' + m + ' min' : 'now'])
    : detail.range === '24h' ? [24, 12, 0].map((h) => [h * HOUR, h ? '-' + h + ' h' : 'now'])
      : [7, 3, 0].map((d) => [d * 24 * HOUR, d ? '-' + d + ' d' : 'now']);
  for (const [ago, label] of ticks) {
    const t = svgEl('text', { x: Math.min(Math.max(x(now - ago), L + 20), W - R - 14),
      y: H - 6, 'text-anchor': 'middle', class: 'axis' });
    t.textContent = label;
    kids.push(t);
  }
  if (pts.length >= 1) {
    const d = pts.map((p, i) => (i ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
    if (pts.length >= 2) {
      kids.push(svgEl('path', { d: d + ' L' + x(pts[pts.length - 1][0]).toFixed(1) + ' ' + y(0) +
        ' L' + x(pts[0][0]).toFixed(1) + ' ' + y(0) + ' Z', class: 'area' }));
    }
    kids.push(svgEl('path', { d, class: 'line' }));
    for (const p of pts.length < 60 ? pts : []) {
      kids.push(svgEl('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2.5, class: 'pt' }));
    }
  } else {
    const t = svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis' });
    t.textContent = detail.range === '1h' ? 'no samples yet' : 'no shares in this range';
    kids.push(t);
  }
  svg.replaceChildren(...kids);
  svg.dataset.points = String(pts.length);
  $('wd-chart-note').textContent = detail.range === '1h' ? 'reported hashrate, live' :
    'credited difficulty per second, hour by hour (from the ledger)';
}

/* ---- the pool panel ---- */
function renderPool(s) {
  const tb = document.querySelector('#sessions tbody');
  if (!tb) return;
  const rows = (s.sessions || []).map((se) => {
    const tr = el('tr');
    tr.dataset.session = String(se.index);
    const st = el('td', null);
    st.append(el('span', 'pill ' + (se.connected ? 'online' : 'offline'), se.connected ? 'up' : 'down'));
    tr.append(
      cell('#', String(se.index)),
      cell('Pool', se.url),
      st,
      cell('Since', se.since ? fmtAgo(se.since) : '–'),
      cell('Difficulty', fmtInt(se.difficulty), 'num'),
      cell('Jobs', fmtInt(se.jobs), 'num'),
      cell('Accepted / rejected / stale', fmtInt(se.accepted) + ' / ' + fmtInt(se.rejected) +
        ' / ' + fmtInt(se.stale), 'num'),
      cell('Nonce space used', (se.nonce_used_pct || 0).toFixed(2) + '%', 'num'),
      cell('Last error', se.last_error ? se.last_error + ' (' + fmtAgo(se.last_error_at) + ')' : '–'));
    st.dataset.label = 'Status';
    return tr;
  });
  tb.replaceChildren(...rows);
  const p = s.pool || {}, ob = s.outbox || {}, v = s.verification || {}, l = s.ledger || {};
  setText('pool-failovers', fmtInt(p.failovers));
  setText('pool-outbox', fmtInt(ob.depth) + (ob.depth ? ' (oldest ' + fmtDur(ob.oldest_age_ms) + ')' : ''));
  setText('pool-verify', fmtInt(v.queue_depth) + ' queued · p50 ' + (v.latency_ms || 0).toFixed(1) +
    ' ms · p99 ' + (v.latency_p99_ms || 0).toFixed(1) + ' ms');
  setText('pool-ledger', (l.commit_latency_ms || 0).toFixed(2) + ' ms mean · ' +
    fmtInt((l.commit_histogram || {}).count) + ' commits');
  renderHistogram(l.commit_histogram);
}

function renderHistogram(h) {
  const box = $('pool-histogram');
  if (!h || !h.counts || !h.counts.length) return;
  let prev = 0;
  const per = h.counts.map((c) => { const n = c - prev; prev = c; return n; });
  const top = Math.max(1, ...per);
  box.replaceChildren(...per.map((n, i) => {
    const b = el('div', 'hbar');
    const f = el('div');
    f.style.height = Math.round(100 * n / top) + '%';
    const le = h.le_seconds[i];
    b.title = (le >= 1e300 ? '> 1 s' : '≤ ' + (le * 1000) + ' ms') + ': ' + n;
    b.append(f, el('span', null, le >= 1e300 ? '∞' : le < 0.001 ? (le * 1e3) + 'm' :
      le < 1 ? Math.round(le * 1000) + '' : le + 's'));
    return b;
  }));
}

/* Every snapshot of the live feed. */
function detailStats(s) {
  renderPool(s);
  if (!detail.id) return;
  detailRender();
  if (detail.range !== '1h' && Date.now() - detail.loadedAt > 60000) detailLoad();
}

function detailInit() {
  document.querySelectorAll('#wd-range button').forEach((b) => {
    b.addEventListener('click', () => {
      detail.range = b.dataset.range;
      detail.hours = [];
      document.querySelectorAll('#wd-range button').forEach((x) =>
        x.classList.toggle('on', x === b));
      detailChart();
      detailLoad();
    });
  });
  $('wd-close').addEventListener('click', (e) => {
    e.preventDefault();
    history.replaceState(null, '', location.pathname + location.search);
    detailOpen(null);
  });
  document.querySelector('#workers tbody').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-worker]');
    if (tr) location.hash = '#worker=' + encodeURIComponent(tr.dataset.worker);
  });
  window.addEventListener('hashchange', () => detailOpen(workerFromHash()));
  window.addEventListener('resize', detailChart);
}
