// dashboard.mjs: drives headless Chromium (Debian's, through playwright-core)
// against a running dashboard: the page loads without console errors, shows
// the workers, its numbers move with the live feed, sorting works, it fits
// a phone, and it reconnects by itself when the coordinator restarts;
// screenshots go to OUTDIR.  Run by tests/system/dash_browser.sh:
//   node dashboard.mjs OUTDIR FIXTURE [FIXTURE-ARGS...]
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { launch, startFixture as start, stopFixture, tap, until, watchProblems } from './lib.mjs';

const [outdir, fixture, ...fixtureArgs] = process.argv.slice(2);

const startFixture = (extra) => start(fixture, fixtureArgs.concat(extra));

let fx = null;
let base = '';
const { ok, done } = tap();

let browser = null;
const problems = [];
// Resolves to true when selector shows up within ms.
const shows = (page, selector, ms) =>
  page.waitForSelector(selector, { timeout: ms }).then(() => true, () => false);
try {
  // Inside the try: a fixture or a browser that cannot start is a failure.
  fx = await startFixture([]);
  base = 'http://127.0.0.1:' + fx.http;
  browser = await launch();
  const ctx = browser.ctx;
  const page = ctx.pages()[0] || await ctx.newPage();
  watchProblems(page, base, problems);

  const resp = await page.goto(base + '/', { waitUntil: 'load' });
  ok(resp && resp.status() === 200, 'the page loads');
  await page.waitForSelector('#workers tbody tr[data-worker="rig-alpha"]', { timeout: 10000 });
  const ids = await page.$$eval('#workers tbody tr', (rows) => rows.map((r) => r.dataset.worker));
  ok(ids.includes('rig-alpha') && ids.includes('vm-gamma') && ids.length >= 4,
    'the workers table shows the cluster\'s workers', ids);
  ok(ids.includes('odd"id\\x'), 'an odd worker id is shown as text', ids);

  ok(await until(async () => (await page.textContent('#live-badge')) === 'live', 10000),
    'the live feed connects');
  const shares0 = await page.textContent('#c-shares');
  const feed0 = await page.$$eval('#shares li', (l) => l.length);
  ok(await until(async () => (await page.textContent('#c-shares')) !== shares0, 10000),
    'the shares card changes as the feed arrives', shares0);
  const rate0 = await page.textContent('#c-hashrate');
  ok(await until(async () => (await page.textContent('#c-hashrate')) !== rate0, 10000),
    'the hashrate card changes as the feed arrives', rate0);
  const hr = await page.textContent('#c-hashrate');
  ok(/[0-9.]+ (k|M)?H\/s/.test(hr), 'the hashrate card shows a rate', hr);
  const feed1 = await page.$$eval('#shares li', (l) => l.length);
  ok(feed1 > 0 && feed1 >= feed0, 'the live shares feed fills', [feed0, feed1]);
  ok(await shows(page, '#blocks .block .split div', 15000),
    'a found block shows its PPLNS split');
  ok(await shows(page, '#workers tbody tr[data-worker="late-delta"]', 10000),
    'a worker that joins appears without a reload');

  // the chart has been drawn: some non-transparent pixels
  const painted = await page.$eval('#chart', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let k = 0;
    for (let i = 3; i < d.length; i += 16) if (d[i]) k++;
    return k;
  });
  ok(painted > 500, 'the hashrate chart is drawn', painted);

  // sorting
  await page.click('#workers th[data-key="worker_id"]');
  let first = await page.$eval('#workers tbody tr', (r) => r.dataset.worker);
  ok(first === 'laptop-beta', 'sorting by worker name', first);
  await page.click('#workers th[data-key="hashrate"]');
  first = await page.$eval('#workers tbody tr', (r) => r.dataset.worker);
  ok(first === 'rig-alpha', 'sorting by hashrate puts the fastest first', first);

  await page.waitForTimeout(1200);
  const shot = join(outdir, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  ok(statSync(shot).size > 10000, 'screenshot saved: ' + shot, statSync(shot).size);

  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(800);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  ok(overflow <= 0, 'on a phone-sized screen nothing overflows sideways', overflow);
  await page.screenshot({ path: join(outdir, 'dashboard-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(1200);
  await page.screenshot({ path: join(outdir, 'dashboard-dark.png'), fullPage: true });
  ok(problems.length === 0, 'no console errors, failed or outside requests', problems);

  // The coordinator restarts: the page notices, then reconnects by itself.
  const rc = await stopFixture(fx);
  ok(rc === 0, 'the fixture stops cleanly', rc);
  ok(await until(async () => (await page.textContent('#live-badge')) !== 'live', 10000),
    'the page shows the feed is lost', await page.textContent('#live-badge'));
  fx = await startFixture(['--http-port', String(fx.http), '--ws-port', String(fx.ws)]);
  ok(await until(async () => (await page.textContent('#live-badge')) === 'live', 20000),
    'the page reconnects its live feed by itself', await page.textContent('#live-badge'));
  const s1 = await page.textContent('#c-shares');
  ok(await until(async () => (await page.textContent('#c-shares')) !== s1, 10000),
    'numbers move again after the reconnect', s1);
} catch (e) {
  ok(false, 'the browser run completed', String(e));
} finally {
  if (browser) await browser.close().catch((e) => ok(false, 'the browser closes', String(e)));
  if (fx) {
    const rc = await stopFixture(fx);
    ok(rc === 0, 'the fixture stops cleanly at the end', rc);
  }
}
process.exit(done());
