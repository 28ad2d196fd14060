// lib.mjs: what the browser tests share: Debian's Chromium launched
// headless through playwright-core in a fresh profile (with the flags this
// closed network needs), and a poll that needs no eval (the page's
// Content-Security-Policy rightly forbids it).
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

// Polls probe() until it is true or ms have passed; resolves to the result.
export async function until(probe, ms, step = 100) {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, step));
  }
}
