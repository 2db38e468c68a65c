/**
 * A real browser for the console's tests: Debian's chromium (installed by .ci/run with apt-get)
 * driven by playwright-core, never a downloaded browser. Screenshots go to test/screenshots/
 * (git-ignored), the tests' artifacts to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './temp-project.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test/screenshots');

/**
 * Whether the browser tests can run. In CI a missing chromium is a failure (.ci/run installs it);
 * elsewhere the tests are skipped with the command that installs it.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI) throw new Error(`no chromium at ${CHROMIUM_PATH}: .ci/run installs it (apt-get install chromium); set CHROMIUM_PATH to use another`);
  console.warn(`browser tests skipped: no chromium at ${CHROMIUM_PATH} (sudo apt-get install chromium, or set CHROMIUM_PATH)`);
  return false;
}

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}
