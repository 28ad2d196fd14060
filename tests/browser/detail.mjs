// detail.mjs: the worker page (#worker=ID) and the pool panel in headless
// Chromium, at desktop and phone widths, as a person sees them: the pool's
// sessions (no password), the worker's reported and effective hashrate
// moving with the live feed, its rejections by reason, the SVG chart over
// 1 h / 24 h / 7 d, nothing overflowing on a phone, no console errors;
// screenshots go to OUTDIR.  Run by tests/system/dash_detail_browser.sh:
//   node detail.mjs OUTDIR FIXTURE [FIXTURE-ARGS...]
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { launch, startFixture, stopFixture, tap, until, watchProblems } from './lib.mjs';

const [outdir, fixture, ...fixtureArgs] = process.argv.slice(2);
const { ok, done } = tap();
let fx = null;
let browser = null;
const problems = [];
const text = (page, sel) => page.textContent(sel).catch(() => null);
const moves = async (page, sel, ms) => {
  const t0 = await text(page, sel);
  return until(async () => (await text(page, sel)) !== t0, ms);
};

async function checks(page, width) {
  const tag = width < 500 ? ' (phone)' : ' (desktop)';
  await page.setViewportSize(width < 500 ? { width: 390, height: 844 } : { width: 1366, height: 900 });
  ok(await until(async () => (await text(page, '#live-badge')) === 'live', 10000),
    'the live badge says live' + tag);

  // the pool panel: both sessions, the password never shown
  const sess = await page.$$eval('#sessions tbody tr', (r) => r.map((x) => x.innerText));
  ok(sess.length === 2 && sess[0].includes('127.0.0.1:3333') && sess[1].includes('127.0.0.1:3334'),
    'the pool panel lists both sessions' + tag, sess);
  ok(!(await page.content()).includes('SECRETPASS'), 'no pool password on the page' + tag);
  ok(sess[1].includes('Low difficulty share'), 'a session shows its last error' + tag, sess[1]);
  ok(await moves(page, '#pool-ledger', 10000), 'the ledger commit count moves' + tag);
  const bars = await page.$$eval('#pool-histogram .hbar', (b) => b.length);
  ok(bars === 12, 'the commit time histogram has its 12 bars' + tag, bars);

  // the worker page
  await page.click('#workers tbody tr[data-worker="vm-gamma"]');
  ok(await until(async () => (await text(page, '#wd-title')) === 'vm-gamma' &&
      await page.isVisible('#worker-panel'), 5000),
    'choosing a worker opens its page' + tag);
  ok(/H\/s/.test(await text(page, '#wd-reported')) && /H\/s/.test(await text(page, '#wd-effective')),
    'its reported and effective hashrates are shown' + tag,
    [await text(page, '#wd-reported'), await text(page, '#wd-effective')]);
  ok(await moves(page, '#wd-reported', 10000), 'its reported hashrate moves with the live feed' + tag);
  ok(await moves(page, '#wd-effective', 10000), 'its effective hashrate moves with the live feed' + tag);
  ok((await text(page, '#wd-randomx')).includes('full') &&
    (await text(page, '#wd-randomx')).includes('huge pages'),
    'its RandomX mode and huge pages are shown' + tag, await text(page, '#wd-randomx'));
  ok(await until(async () => (await page.$$eval('#wd-rejections .rej',
    (r) => r.map((x) => x.dataset.reason))).some((x) => x !== 'accepted'), 20000),
    'its rejections by reason appear' + tag,
    await page.$$eval('#wd-rejections .rej', (r) => r.map((x) => x.innerText)));
  ok(await until(async () => Number(await page.getAttribute('#wd-chart', 'data-points')) >= 2, 10000),
    'the 1 h chart is drawn from the live samples' + tag);
  await page.click('#wd-range button[data-range="24h"]');
  ok(await until(async () => Number(await page.getAttribute('#wd-chart', 'data-points')) >= 24 &&
      (await page.$$('#wd-chart path.line')).length === 1, 10000),
    'the 24 h chart shows the ledger\'s hours' + tag,
    await page.getAttribute('#wd-chart', 'data-points'));
  await page.click('#wd-range button[data-range="7d"]');
  ok(await until(async () => Number(await page.getAttribute('#wd-chart', 'data-points')) >= 168, 10000),
    'the 7 d chart shows a week of hours' + tag, await page.getAttribute('#wd-chart', 'data-points'));
  await page.waitForTimeout(600);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  ok(overflow <= 0, 'nothing overflows sideways' + tag, overflow);
  const shot = join(outdir, width < 500 ? 'worker-phone.png' : 'worker-desktop.png');
  await page.locator('#worker-panel').screenshot({ path: shot });
  ok(statSync(shot).size > 5000, 'screenshot saved: ' + shot, statSync(shot).size);
  const pshot = join(outdir, width < 500 ? 'pool-phone.png' : 'pool-desktop.png');
  await page.locator('#pool-panel').screenshot({ path: pshot });
  ok(statSync(pshot).size > 5000, 'screenshot saved: ' + pshot, statSync(pshot).size);
  await page.click('#wd-range button[data-range="1h"]');
  await page.click('#wd-close');
  ok(await until(async () => !(await page.isVisible('#worker-panel')), 5000),
    'closing the worker page hides it' + tag);
}

try {
  fx = await startFixture(fixture, fixtureArgs);
  const base = 'http://127.0.0.1:' + fx.http;
  browser = await launch();
  const page = browser.ctx.pages()[0] || await browser.ctx.newPage();
  watchProblems(page, base, problems);
  const resp = await page.goto(base + '/', { waitUntil: 'load' });
  ok(resp && resp.status() === 200, 'the page loads');
  await page.waitForSelector('#workers tbody tr[data-worker="vm-gamma"]', { timeout: 10000 });
  await checks(page, 1366);
  await checks(page, 390);
  // a link to one worker opens its page directly
  const p2 = await browser.ctx.newPage();
  watchProblems(p2, base, problems);
  await p2.goto(base + '/#worker=laptop-beta', { waitUntil: 'load' });
  ok(await until(async () => (await text(p2, '#wd-title')) === 'laptop-beta' &&
      await p2.isVisible('#worker-panel'), 10000),
    'a #worker= link opens that worker\'s page');
  ok(problems.length === 0, 'no console errors, failed or outside requests', problems);
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
