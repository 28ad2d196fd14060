// cluster.mjs: the dashboard of a real running cluster (tests/system/
// cluster.sh) in headless Chromium: the page loads with no console errors,
// lists the cluster's workers, and its numbers change as the live feed
// arrives.  Prints TAP lines; the caller counts them.
//   node cluster.mjs URL OUTDIR WORKER_NAME...
import { join } from 'node:path';
import { launch, until } from './lib.mjs';

const [base, out, ...names] = process.argv.slice(2);
let failed = 0;
function ok(cond, desc) {
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${desc}`);
}
const browser = await launch();
const ctx = browser.ctx;
const problems = [];
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  const resp = await page.goto(base + '/', { waitUntil: 'load' });
  ok(resp && resp.status() === 200, 'the dashboard of the running cluster loads');
  const text = () => page.locator('body').innerText();
  ok(await until(async () => { const t = await text(); return names.every((n) => t.includes(n)); }, 20000),
    `it lists the cluster's workers (${names.join(', ')})`);
  const stats = () => page.locator('main').first().innerText().catch(() => text());
  const before = await stats();
  ok(await until(async () => (await stats()) !== before, 20000),
    'its numbers change as the live feed arrives');
  await page.screenshot({ path: join(out, 'cluster.png'), fullPage: true });
  ok(problems.length === 0, `no console errors (${problems.join(' | ')})`);
} catch (e) {
  ok(false, 'browser run: ' + e);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
