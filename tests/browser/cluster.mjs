// cluster.mjs: the dashboard of a real running cluster (tests/system/
// cluster.sh) in headless Chromium: the page loads with no console errors,
// lists the cluster's workers, and its share count moves with the live
// feed.  Prints TAP lines; the caller counts them and checks the exit
// status (a browser that cannot start is a failure, not silence).
//   node cluster.mjs URL OUTDIR WORKER_NAME...
import { join } from 'node:path';
import { launch, until } from './lib.mjs';

const [base, out, ...names] = process.argv.slice(2);
let failed = 0;
function ok(cond, desc) {
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${desc}`);
}
let browser = null;
const problems = [];
try {
  browser = await launch();
  const page = browser.ctx.pages()[0] || await browser.ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  // What arrives over /ws: the page fetches REST once at load, so a share
  // count that moves afterwards can only have come through the feed.
  const feed = { frames: 0, stats: 0, shares: new Set() };
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    feed.frames++;
    try {
      const m = JSON.parse(f.payload);
      if (m.type === 'stats' && m.data) { feed.stats++; feed.shares.add(String(m.data.shares_valid)); }
    } catch (e) { /* not JSON: counted as a frame only */ }
  }));
  const resp = await page.goto(base + '/', { waitUntil: 'load' });
  ok(resp && resp.status() === 200, 'the dashboard of the running cluster loads');
  const text = () => page.locator('body').innerText();
  ok(await until(async () => { const t = await text(); return names.every((n) => t.includes(n)); }, 20000),
    `it lists the cluster's workers (${names.join(', ')})`);
  const shares = async () => (await page.textContent('#c-shares')).replace(/[^0-9]/g, '');
  const before = await shares();
  const moved = await until(async () => {
    const now = await shares();
    return now !== before && feed.shares.has(now);
  }, 30000);
  ok(moved, `its share count moves with the live feed (${before} -> ${await shares()}; ` +
    `${feed.frames} frames, ${feed.stats} stats events over /ws)`);
  await page.screenshot({ path: join(out, 'cluster.png'), fullPage: true });
  ok(problems.length === 0, `no console errors (${problems.join(' | ')})`);
} catch (e) {
  ok(false, 'browser run: ' + e);
} finally {
  if (browser) await browser.close().catch((e) => ok(false, 'browser close: ' + e));
}
process.exit(failed ? 1 : 0);
