/**
 * The console in Debian's chromium (playwright-core): does it stay responsive with 1,000 models and
 * 1,000 webhook requests a second, how soon does a signed event show in a mart's live table, and
 * what does a live table cost ingest. Figures only; nothing here asserts on time.
 *
 *   lineage of 1,000 models: first render; a status change → the box redrawn (p50)
 *   1,000 requests/s on the Ingest view: share of time the page's main thread was blocked
 *   (long tasks), requests shown in the log
 *   seed pipeline: signed event → visible in user_profiles' live table (p50, p95)
 *   seed pipeline: single-event ingest with that live table open vs closed
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { startConsole } from '../scripts/console/start-console.ts';
import { startLocalServer } from '../scripts/local/local-server.ts';
import { ProjectCompiler } from '../scripts/runner/compile.ts';
import { Deployer } from '../scripts/runner/deploy/deployer.ts';
import { localServerConnection } from '../scripts/runner/deploy/target-connection.ts';
import { generateProject } from './generate-project.ts';
import { sendSigned } from './signed-load.ts';
import { median, percentile } from './stats.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const REPO_ROOT = path.resolve(import.meta.dirname, '..');

export async function runConsoleBench(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`console: skipped (no chromium at ${CHROMIUM}; apt-get install chromium)`);
    return;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    await lineageAndIngestLoad(browser);
    await seedLiveTable(browser);
  } finally {
    await browser.close();
  }
}

async function lineageAndIngestLoad(browser: Browser): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'segmat-console-bench-'));
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  try {
    generateProject(root, 1000);
    const project = new ProjectCompiler(root).compile();
    const running = await startConsole(server, { port: 0, watched: { deployedState: async () => new Map() } });
    running.board.setProject(project, null);
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const started = performance.now();
    await page.goto(running.url);
    await page.waitForFunction((count) => document.querySelectorAll('[data-node]').length === count, project.nodes.size, { timeout: 60_000 });
    const firstRender = performance.now() - started;

    // Status changes, one model at a time, as watch mode reports them.
    const latencies: number[] = [];
    const names = project.order.filter((name) => project.nodes.get(name)!.kind !== 'index').slice(0, 20);
    for (const name of names) {
      const seen = page.evaluate(
        (node) =>
          new Promise<number>((resolve) => {
            const element = document.querySelector(`[data-node="${node}"]`)!;
            new MutationObserver(() => {
              if (element.getAttribute('data-status') === 'redeploying') resolve(Date.now());
            }).observe(element, { attributes: true });
          }),
        name,
      );
      await page.waitForTimeout(20);
      const changed = Date.now();
      running.board.cycleStarted([project.nodes.get(name)!.path]);
      latencies.push((await seen) - changed);
    }
    console.log(
      `console lineage, ${project.nodes.size} nodes: first render ${firstRender.toFixed(0)} ms; a status change → its box redrawn p50 ${median(latencies).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms (target: responsive — render only what changed)`,
    );

    // 1,000 webhook requests a second into a lone source, with the Ingest view open.
    const admin = new pg.Client(server.pgUrl);
    await admin.connect();
    await admin.query('CREATE SOURCE bench_hooks FROM WEBHOOK BODY FORMAT JSON');
    await admin.end();
    await page.goto(`${running.url}#/ingest`);
    await page.evaluate(() => {
      (window as unknown as { longTaskMs: number }).longTaskMs = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) (window as unknown as { longTaskMs: number }).longTaskMs += entry.duration;
      }).observe({ type: 'longtask', buffered: false });
    });
    const url = server.webhookUrl('bench_hooks');
    const seconds = 8;
    // 1,000 events a second as 500 requests of 2 events (the request log sees every request).
    const rate = 500;
    const eventsPerRequest = 2;
    const loadStarted = performance.now();
    let sent = 0;
    const inFlight = new Set<Promise<unknown>>();
    while (performance.now() - loadStarted < seconds * 1000) {
      const due = Math.floor(((performance.now() - loadStarted) / 1000) * rate);
      while (sent < due && inFlight.size < 64) {
        const body = Array.from({ length: eventsPerRequest }, (_, index) => JSON.stringify({ type: 'track', event: 'bench', n: sent, index })).join('\n');
        const request = fetch(url, { method: 'POST', body }).then((response) => response.arrayBuffer());
        sent++;
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(inFlight);
    const elapsed = (performance.now() - loadStarted) / 1000;
    await page.waitForTimeout(600);
    const longTaskMs = await page.evaluate(() => (window as unknown as { longTaskMs: number }).longTaskMs);
    const shown = await page.locator('.card[data-target="public.bench_hooks"] .statuses .muted').textContent();
    console.log(
      `console ingest view under load: ${((sent * eventsPerRequest) / elapsed).toFixed(0)} events/s (${(sent / elapsed).toFixed(0)} requests/s) for ${elapsed.toFixed(1)} s; page main thread blocked ${((longTaskMs / (elapsed * 1000)) * 100).toFixed(1)}% of the time (long tasks ${longTaskMs.toFixed(0)} ms); card shows "${/^\d+ requests/.exec(shown ?? '')?.[0] ?? '?'}" of ${sent} (target: responsive at 1,000 events/s)`,
    );
    await page.close();
    await running.stop();
  } finally {
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

async function seedLiveTable(browser: Browser): Promise<void> {
  const server = await startLocalServer({ memory: true, pgPort: 0, httpPort: 0 });
  try {
    const compiler = new ProjectCompiler(REPO_ROOT);
    const project = compiler.compile();
    const deployer = await Deployer.open(project, { connection: localServerConnection(server.host, server.pgPort, 'bench server') });
    await deployer.deploy({ project, fullRefresh: new Set(), dryRun: false });
    const running = await startConsole(server, { port: 0, watched: { deployedState: () => deployer.deployedState() } });
    running.board.setProject(project, await deployer.deployedState());
    const url = server.webhookUrl('segment_source', 'segment');

    const singleEventRate = async (label: string): Promise<number> => {
      const events = 600;
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < events) {
            const index = next++;
            await sendSigned(url, JSON.stringify(identify(`${label}-${index}`)));
          }
        }),
      );
      return events / ((performance.now() - started) / 1000);
    };
    const closedRate = await singleEventRate('closed');

    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    await page.goto(`${running.url}#/model/user_profiles`);
    await page.getByTestId('live-table').waitFor();
    await page.getByTestId('last-change').filter({ hasText: /no change|last change/ }).waitFor();
    const latencies: number[] = [];
    for (let index = 0; index < 20; index++) {
      const user = `live-${index}`;
      // A string, not a function: tsx would wrap a named inner function in a helper the page lacks.
      const visible = page.evaluate(`new Promise((resolve) => {
        const table = document.querySelector('[data-testid="live-table"]');
        const seen = () => [...table.querySelectorAll('td')].some((cell) => cell.textContent === ${JSON.stringify(user)});
        if (seen()) resolve(Date.now());
        new MutationObserver(() => seen() && resolve(Date.now())).observe(table, { childList: true, subtree: true, characterData: true });
      })`) as Promise<number>;
      await page.waitForTimeout(50);
      await sendSigned(url, JSON.stringify(identify(user)));
      const acknowledged = Date.now();
      latencies.push((await visible) - acknowledged);
    }
    console.log(
      `console live table (seed user_profiles over SUBSCRIBE): signed event's 200 → row visible p50 ${median(latencies).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms (target: within 1 s)`,
    );
    const openRate = await singleEventRate('open');
    console.log(
      `seed ingest, single signed events from 32 clients: ${closedRate.toFixed(0)} events/s with no page open, ${openRate.toFixed(0)} events/s with user_profiles' live table open (${((openRate / closedRate) * 100).toFixed(0)}%)`,
    );
    await page.close();
    await running.stop();
    await deployer.close();
  } finally {
    await server.stop();
  }
}

function identify(userId: string): Record<string, unknown> {
  const now = new Date().toISOString();
  return { type: 'identify', messageId: `m-${userId}-${Math.random().toString(36).slice(2)}`, userId, traits: { name: `User ${userId}` }, timestamp: now, receivedAt: now };
}

if (import.meta.url === `file://${process.argv[1]}`) await runConsoleBench();
