// money.mjs: the dashboard's Income and Balances panels in headless
// Chromium, against the fixture coordinator serving a ledger with income
// (dash_fixture --ledger).  Every number a person reads (each income row,
// the explanation of each income chosen, each owner's balance) is compared
// with EXPECT, computed from the ledger by tests/system/money_expect.py,
// at desktop and phone widths; no console errors; screenshots to OUTDIR.
// Run by tests/system/dash_money_browser.sh:
//   node money.mjs OUTDIR EXPECT.json TIMEZONE FIXTURE [FIXTURE-ARGS...]
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { launch, startFixture, stopFixture, tap, watchProblems } from './lib.mjs';

const [outdir, expectFile, timezoneId, fixture, ...fixtureArgs] = process.argv.slice(2);
const expect = JSON.parse(readFileSync(expectFile, 'utf8'));

const { ok, done } = tap();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// The text of each cell of the rows matching selector, as a person reads
// it (innerText: what is rendered, whitespace folded; tags one by one).
const rowsText = (page, selector) => page.$$eval(selector, (rows) => rows.map((tr) => ({
  key: tr.dataset.income || (tr.dataset.worker ? tr.dataset.worker + '/' : '') + (tr.dataset.owner || ''),
  visible: tr.getClientRects().length > 0,
  cells: Array.from(tr.cells).map((td) => {
    const tags = td.querySelectorAll('.tag');
    const t = tags.length ? Array.from(tags).map((x) => x.innerText).join(' ') :
      (td.querySelector('.wname') || td).innerText;
    return t.replace(/\s+/g, ' ').trim();
  }),
})));

async function checkIncome(page, width) {
  const got = await rowsText(page, '#income tbody tr');
  ok(same(got.map((r) => [r.key, r.cells]), expect.income.map((r) => [String(r.id), r.cells])),
    `${width}: the income list shows each event's local date, amount (coins and atomic units), source, ref and reversal marks`,
    { got, want: expect.income });
}

async function checkExplain(page, id, width) {
  const want = expect.explain[id];
  await page.click(`#income tbody tr[data-income="${id}"]`);
  const shown = await page.waitForSelector(`#explain .explain[data-income="${id}"]`, { timeout: 10000 })
    .then(() => true, () => false);
  ok(shown, `${width}: choosing income ${id} shows its explanation`);
  if (!shown) return;
  const head = (await page.innerText('#explain h3')).replace(/\s+/g, ' ').trim();
  const facts = await page.$$eval('#explain dd', (dd) => Object.fromEntries(
    dd.map((d) => [d.dataset.k, d.innerText.replace(/\s+/g, ' ').trim()])));
  const wantFacts = Object.assign({}, want.facts);
  ok(head === want.head && Object.keys(wantFacts).every((k) => facts[k] === wantFacts[k]),
    `${width}: income ${id}: amount, N and its source, window bounds (share ids, times), shares, fee, rounding remainder`,
    { head, facts, want: [want.head, wantFacts] });
  const warn = await page.$$eval('#explain .warn', (w) => w.map((x) => x.innerText));
  const notes = (await page.$$eval('#explain .note', (w) => w.map((x) => x.innerText))).join(' ');
  ok((want.warning ? warn.length === 1 && warn[0].includes(want.warning) : warn.length === 0) &&
    (!want.reverses || notes.includes('reversal of income #' + want.reverses)) &&
    (!want.reversed_by || notes.includes('Reversed by income #' + want.reversed_by)) &&
    (want.reverses || want.reversed_by || notes === ''),
  `${width}: income ${id}: the warning and the reversal notes, when there are any`, { warn, notes, want });
  const workers = await rowsText(page, '#explain-workers tbody tr');
  ok(same(Object.fromEntries(workers.map((r) => [r.key, r.cells])), want.workers) &&
    workers.every((r) => r.visible),
  `${width}: income ${id}: per worker and owner: share, difficulty, shares, fraction, worker part, amount, remainder`,
  { workers, want: want.workers });
  const owners = await rowsText(page, '#explain-owners tbody tr');
  const fee = owners.pop();
  ok(same(Object.fromEntries(owners.map((r) => [r.key, r.cells])), want.owners) &&
    fee && same([fee.cells[0], fee.cells[3]], want.fee_owner),
  `${width}: income ${id}: per owner: difficulty, fraction, amount, and the fee`,
  { owners, fee, want: [want.owners, want.fee_owner] });
}

async function checkBalances(page, width) {
  const got = await rowsText(page, '#balances tbody tr');
  ok(same(Object.fromEntries(got.map((r) => [r.key, r.cells])), expect.balances),
    `${width}: each owner's credited, paid, balance, immature and payable`, { got, want: expect.balances });
}

let fx = null, browser = null;
const problems = [];
try {
  fx = await startFixture(fixture, fixtureArgs);
  const base = 'http://127.0.0.1:' + fx.http;
  browser = await launch({ timezoneId });
  const page = browser.ctx.pages()[0] || await browser.ctx.newPage();
  watchProblems(page, base, problems);

  const resp = await page.goto(base + '/', { waitUntil: 'load' });
  ok(resp && resp.status() === 200, 'the page loads');
  ok(await page.waitForSelector('#income tbody tr[data-income]', { timeout: 10000 }).then(() => true, () => false),
    'the Income panel fills from /api/income');
  ok(await page.waitForSelector('#workers tbody tr[data-worker]', { timeout: 10000 }).then(() => true, () => false),
    'the rest of the page still works (workers table)');
  const ids = Object.keys(expect.explain);
  for (const [width, vp] of [['desktop', { width: 1366, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewportSize(vp);
    await checkIncome(page, width);
    for (const id of ids) await checkExplain(page, id, width);
    await checkBalances(page, width);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    ok(overflow <= 0, `${width}: nothing overflows sideways`, overflow);
    // and no number hides in a table scrolled sideways: every cell of the
    // money panels lies within the screen's width
    const outside = await page.$$eval('#income-panel td, #balances-panel td', (tds) => tds
      .filter((td) => { const r = td.getBoundingClientRect(); return r.width && (r.left < 0 || r.right > window.innerWidth + 1); })
      .map((td) => td.innerText));
    ok(outside.length === 0, `${width}: every cell of the money panels is within the screen's width`, outside);
    // the shots: the newest income that still counts, explained
    const shown = expect.income.find((r) => !r.cells[4]);
    if (shown) await checkExplain(page, String(shown.id), width);
    const shot = join(outdir, `dashboard-money-${width}.png`);
    await page.locator('#income-panel').screenshot({ path: shot });
    ok(statSync(shot).size > 10000, 'screenshot saved: ' + shot, statSync(shot).size);
    await page.locator('#balances-panel').screenshot({ path: join(outdir, `dashboard-balances-${width}.png`) });
  }
  ok(problems.length === 0, 'no console errors, failed or outside requests', problems);
} catch (e) {
  ok(false, 'the browser run completed', String(e));
} finally {
  if (browser) await browser.close().catch((e) => ok(false, 'the browser closes', String(e)));
  if (fx) ok((await stopFixture(fx)) === 0, 'the fixture stops cleanly');
}
process.exit(done());
