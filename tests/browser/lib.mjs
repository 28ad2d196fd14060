// lib.mjs: what the browser tests share: Debian's Chromium launched
// headless through playwright-core in a fresh profile (with the flags this
// closed network needs), and a poll that needs no eval (the page's
// Content-Security-Policy rightly forbids it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Resolves to { ctx, close }; close() also removes the profile.  options
// are playwright's context options over ours (say, a timezoneId).
export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'coopmine-chromium.'));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--headless', '--disable-gpu',
        '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run'],
      viewport: { width: 1366, height: 900 },
      ...options,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true }); // no browser: no profile left
    throw e;
  }
  return {
    ctx,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// TAP lines: t.ok(cond, desc, detail) numbers them; t.done() prints the
// plan and is the exit status.
export function tap() {
  let n = 0, failed = 0;
  return {
    ok(cond, desc, detail) {
      n++;
      if (!cond) failed++;
      console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
      if (!cond && detail !== undefined) console.log('#   ' + JSON.stringify(detail));
      return cond;
    },
    done() { console.log(`1..${n}`); return failed ? 1 : 0; },
  };
}

// Starts the fixture coordinator (tests/system/dash_fixture); resolves to
// { proc, http, ws } once it prints its ports.
export function startFixture(fixture, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(fixture, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    proc.on('error', reject);
    proc.on('exit', (c) => reject(new Error('fixture exited with ' + c)));
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = /HTTP_PORT=(\d+) WS_PORT=(\d+)/.exec(buf);
      if (m) resolve({ proc, http: Number(m[1]), ws: Number(m[2]) });
    });
  });
}
// SIGTERM; resolves to its exit code (or the signal that ended it).
export function stopFixture(f) {
  return new Promise((resolve) => {
    f.proc.removeAllListeners('exit');
    f.proc.on('exit', (code, sig) => resolve(code === null ? sig : code));
    f.proc.kill('SIGTERM');
  });
}

// Collects into problems what a person should never meet on the page at
// base: console errors and warnings, uncaught exceptions, failed requests,
// and requests that leave 127.0.0.1 (the page needs no CDN).
export function watchProblems(page, base, problems) {
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('requestfailed', (r) => problems.push('failed: ' + r.url()));
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('ws://127.0.0.1')) problems.push('outside: ' + r.url()); });
}

// Polls probe() until it is true or ms have passed; resolves to the result.
export async function until(probe, ms, step = 100) {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, step));
  }
}
